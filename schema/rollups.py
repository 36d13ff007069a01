"""Rollups: an area's counts for itself; ask each child's ``rollup`` for theirs.

Every field is computed only when selected, and the fields of all areas in one
response are answered together (a few statements whatever the number of areas).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from db import counters, models
from db.counters import split_item_key
from db.queries.rollups import Window
from resolvers.rollups import LEDGER_FAMILIES, Family, Request, restricted_rows
from schema.types import Info


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


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


@strawberry.type(
    description="Counts for an area's whole subtree, as far as you may see it; within the "
    "window when one is given (households and cadres are not dated)."
)
class Rollup:
    window_from: dt.date | None
    window_to: dt.date | None
    _area: strawberry.Private[models.Area]

    def _window(self) -> Window | None:
        if self.window_from is None and self.window_to is None:
            return None
        return Window(self.window_from, self.window_to)

    async def _counts(
        self, info: Info, family: Family, *, dated: bool = True, as_of: dt.date | None = None
    ) -> dict[tuple[str, str], int]:
        request = Request(family, self._area.path, self._window() if dated else None, as_of)
        answer = await info.context.loaders.rollup_by_request.load(request)
        if family in LEDGER_FAMILIES:
            info.context.note_restricted_read(
                "read:rollup", restricted_rows(answer.counts), self._area.path
            )
        return answer.counts

    async def _one(self, info: Info, family: Family, metric: str, *, dated: bool = True) -> int:
        return (await self._counts(info, family, dated=dated)).get((metric, ""), 0)

    @strawberry.field(description="True when some count covers only the part you may see.")
    def partial(self, info: Info) -> bool:
        rollups = info.context.loaders.rollup_answers
        return any(rollups.partial(family, self._area.path) for family in Family)

    @strawberry.field
    async def households(self, info: Info) -> int:
        return await self._one(info, Family.HOUSEHOLDS, counters.HOUSEHOLDS, dated=False)

    @strawberry.field(description="Households visited at least once (受访).")
    async def visited_households(self, info: Info) -> int:
        return await self._one(info, Family.VISITS, counters.VISITED)

    @strawberry.field(description="Visited households as a percentage of households.")
    async def coverage(self, info: Info) -> float:
        visited = await self._one(info, Family.VISITS, counters.VISITED)
        total = await self._one(info, Family.HOUSEHOLDS, counters.HOUSEHOLDS, dated=False)
        return _percent(visited, total)

    @strawberry.field(description="Visits (人次).")
    async def person_visits(self, info: Info) -> int:
        return await self._one(info, Family.VISITS, counters.VISITS)

    @strawberry.field(description="Cadres whose home area is here.")
    async def cadres(self, info: Info) -> int:
        return await self._one(info, Family.CADRES, counters.CADRES, dated=False)

    @strawberry.field(description="Of them, those who visited at least one household.")
    async def cadres_visiting(self, info: Info) -> int:
        return await self._one(info, Family.CADRES, counters.CADRES_ACTIVE)

    @strawberry.field(description="Of them, those who visited at least 20 households.")
    async def cadres_at_quota(self, info: Info) -> int:
        return await self._one(info, Family.CADRES, counters.CADRES_AT_QUOTA)

    @strawberry.field(description="Cadres visiting as a percentage of cadres (下访).")
    async def participation(self, info: Info) -> float:
        visiting = await self._one(info, Family.CADRES, counters.CADRES_ACTIVE)
        total = await self._one(info, Family.CADRES, counters.CADRES, dated=False)
        return _percent(visiting, total)

    @strawberry.field(description="Courtyard meetings.")
    async def meetings(self, info: Info) -> int:
        return await self._one(info, Family.MEETINGS, counters.MEETINGS)

    @strawberry.field(description="Suggestions collected at them.")
    async def suggestions(self, info: Info) -> int:
        return await self._one(info, Family.MEETINGS, counters.SUGGESTIONS)

    @strawberry.field(description="Condolence money given, in yuan.")
    async def condolence_amount(self, info: Info) -> Decimal:
        fen = await self._one(info, Family.VISITS, counters.CONDOLENCE_FEN)
        return Decimal(fen).scaleb(-2)

    @strawberry.field(description="People visited with condolences.")
    async def condolence_people(self, info: Info) -> int:
        return await self._one(info, Family.VISITS, counters.CONDOLENCE_PEOPLE)

    @strawberry.field(
        description="Ledger items by ledger, category and status (received in the window)."
    )
    async def items(self, info: Info, ledgers: list[str] | None = None) -> list[ItemCount]:
        totals: dict[tuple[str, str, str], int] = {}
        for (metric, key), value in (await self._counts(info, Family.ITEMS)).items():
            ledger, category, status = split_item_key(key)
            if metric == counters.ITEMS and (ledgers is None or ledger in ledgers):
                index = (ledger, category, status)
                totals[index] = totals.get(index, 0) + value
        return [
            ItemCount(ledger=ledger, category=category, status=status, count=n)
            for (ledger, category, status), n in sorted(totals.items())
        ]

    @strawberry.field(description="Ledger items by status, all visible ledgers together.")
    async def items_by_status(self, info: Info) -> list[StatusCount]:
        totals: dict[str, int] = {}
        for (metric, key), value in (await self._counts(info, Family.ITEM_STATUS)).items():
            status = key.split("|")[1]
            if metric == counters.ITEM_STATUS:
                totals[status] = totals.get(status, 0) + value
        return [StatusCount(status=s, count=n) for s, n in sorted(totals.items())]

    @strawberry.field(description="Items open on `asOf` (default today) and past their deadline.")
    async def overdue_items(self, info: Info, as_of: dt.date | None = None) -> int:
        day = as_of or info.context.today()
        counts = await self._counts(info, Family.OVERDUE, dated=False, as_of=day)
        return sum(counts.values())

    @strawberry.field(description="Needy households by reason (a household may give several).")
    async def needy_households(self, info: Info) -> list[ReasonCount]:
        counts = await self._counts(info, Family.NEEDY)
        return [
            ReasonCount(reason=key, households=value)
            for (metric, key), value in sorted(counts.items())
            if metric == counters.NEEDY
        ]

    @strawberry.field(description="Visits per week (weeks start on Monday), within the window.")
    async def weekly_visits(self, info: Info) -> list[WeekCount]:
        counts = await self._counts(info, Family.WEEKLY)
        return [
            WeekCount(week=dt.date.fromisoformat(key), visits=value)
            for (_metric, key), value in sorted(counts.items())
        ]
