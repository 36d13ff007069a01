"""Rollups: the GraphQL types of an area's counts; values come from ``resolvers.rollups``.

Every field is a plain attribute of the value the resolver computed for the
whole request in one statement (``Area.rollup``); only the two fields with
arguments pick from what was computed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Self

import strawberry

from resolvers.rollups import RollupValue


@strawberry.type(description="Items of a ledger, category and status.")
class ItemCount:
    ledger: str
    category: str
    status: str
    count: int


@strawberry.type(description="Items in a status, all visible ledgers together.")
class StatusCount:
    status: str
    count: int


@strawberry.type(description="Needy households giving a reason.")
class ReasonCount:
    reason: str
    households: int


@strawberry.type(description="Visits in the week starting on a Monday.")
class WeekCount:
    week: dt.date
    visits: int


@strawberry.type(
    description="Counts for an area's whole subtree, as far as you may see it; within the "
    "window when one is given (households and cadres are not dated)."
)
class Rollup:
    window_from: dt.date | None
    window_to: dt.date | None
    households: int
    visited_households: int = strawberry.field(
        description="Households visited at least once (受访)."
    )
    coverage: float = strawberry.field(
        description="Visited households as a percentage of households."
    )
    person_visits: int = strawberry.field(description="Visits (人次).")
    cadres: int = strawberry.field(description="Cadres whose home area is here.")
    cadres_visiting: int = strawberry.field(
        description="Of them, those who visited at least one household."
    )
    cadres_at_quota: int = strawberry.field(
        description="Of them, those who visited at least 20 households."
    )
    participation: float = strawberry.field(
        description="Cadres visiting as a percentage of cadres (下访)."
    )
    meetings: int = strawberry.field(description="Courtyard meetings.")
    suggestions: int = strawberry.field(description="Suggestions collected at them.")
    condolence_amount: Decimal = strawberry.field(description="Condolence money given, in yuan.")
    condolence_people: int = strawberry.field(description="People visited with condolences.")
    items_by_status: list[StatusCount] = strawberry.field(
        description="Ledger items by status, all visible ledgers together."
    )
    needy_households: list[ReasonCount] = strawberry.field(
        description="Needy households by reason (a household may give several)."
    )
    weekly_visits: list[WeekCount] = strawberry.field(
        description="Visits per week (weeks start on Monday)."
    )
    partial: bool = strawberry.field(
        description="True when some count covers only the part you may see."
    )
    _value: strawberry.Private[RollupValue]

    @classmethod
    def from_value(cls, value: RollupValue) -> Self:
        return cls(
            window_from=value.window_from,
            window_to=value.window_to,
            households=value.households,
            visited_households=value.visited_households,
            coverage=value.coverage,
            person_visits=value.person_visits,
            cadres=value.cadres,
            cadres_visiting=value.cadres_visiting,
            cadres_at_quota=value.cadres_at_quota,
            participation=value.participation,
            meetings=value.meetings,
            suggestions=value.suggestions,
            condolence_amount=value.condolence_amount,
            condolence_people=value.condolence_people,
            items_by_status=[StatusCount(status=s, count=n) for s, n in value.items_by_status],
            needy_households=[
                ReasonCount(reason=r, households=n) for r, n in value.needy_households
            ],
            weekly_visits=[WeekCount(week=w, visits=n) for w, n in value.weekly_visits],
            partial=value.partial,
            _value=value,
        )

    @strawberry.field(
        description="Ledger items by ledger, category and status (received in the window)."
    )
    def items(self, ledgers: list[str] | None = None) -> list[ItemCount]:
        return [
            ItemCount(ledger=ledger, category=category, status=status, count=n)
            for ledger, category, status, n in self._value.items(ledgers)
        ]

    @strawberry.field(description="Items open on `asOf` (default today) and past their deadline.")
    def overdue_items(self, as_of: dt.date | None = None) -> int:
        return self._value.overdue.get(as_of, 0)
