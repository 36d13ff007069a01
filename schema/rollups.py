"""Rollups: an area's counts for itself; ask each child's ``rollup`` for theirs.

Every field is computed only when selected, and the fields of all areas in one
response are answered together (a few statements whatever the number of areas).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry
from strawberry.types.nodes import SelectedField, Selection

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


# Which families each plain field needs (households and cadres are not dated).
NEEDS: dict[str, tuple[Family, ...]] = {
    "households": (Family.HOUSEHOLDS,),
    "visitedHouseholds": (Family.VISITS,),
    "coverage": (Family.VISITS, Family.HOUSEHOLDS),
    "personVisits": (Family.VISITS,),
    "cadres": (Family.CADRES,),
    "cadresVisiting": (Family.CADRES,),
    "cadresAtQuota": (Family.CADRES,),
    "participation": (Family.CADRES,),
    "meetings": (Family.MEETINGS,),
    "suggestions": (Family.MEETINGS,),
    "condolenceAmount": (Family.VISITS,),
    "condolencePeople": (Family.VISITS,),
    "itemsByStatus": (Family.ITEM_STATUS,),
    "needyHouseholds": (Family.NEEDY,),
    "weeklyVisits": (Family.WEEKLY,),
}
UNDATED = frozenset({Family.HOUSEHOLDS})


def _names(selections: list[Selection]) -> set[str]:
    names: set[str] = set()
    for selection in selections:
        if isinstance(selection, SelectedField):
            names.add(selection.name)
        else:
            names |= _names(selection.selections)
    return names


@strawberry.type(
    description="Counts for an area's whole subtree, as far as you may see it; within the "
    "window when one is given (households and cadres are not dated)."
)
class Rollup:
    window_from: dt.date | None
    window_to: dt.date | None
    households: int = 0
    visited_households: int = strawberry.field(
        default=0, description="Households visited at least once (受访)."
    )
    coverage: float = strawberry.field(
        default=0.0, description="Visited households as a percentage of households."
    )
    person_visits: int = strawberry.field(default=0, description="Visits (人次).")
    cadres: int = strawberry.field(default=0, description="Cadres whose home area is here.")
    cadres_visiting: int = strawberry.field(
        default=0, description="Of them, those who visited at least one household."
    )
    cadres_at_quota: int = strawberry.field(
        default=0, description="Of them, those who visited at least 20 households."
    )
    participation: float = strawberry.field(
        default=0.0, description="Cadres visiting as a percentage of cadres (下访)."
    )
    meetings: int = strawberry.field(default=0, description="Courtyard meetings.")
    suggestions: int = strawberry.field(default=0, description="Suggestions collected at them.")
    condolence_amount: Decimal = strawberry.field(
        default=Decimal(0), description="Condolence money given, in yuan."
    )
    condolence_people: int = strawberry.field(
        default=0, description="People visited with condolences."
    )
    items_by_status: list[StatusCount] = strawberry.field(
        default_factory=list, description="Ledger items by status, all visible ledgers together."
    )
    needy_households: list[ReasonCount] = strawberry.field(
        default_factory=list,
        description="Needy households by reason (a household may give several).",
    )
    weekly_visits: list[WeekCount] = strawberry.field(
        default_factory=list, description="Visits per week (weeks start on Monday)."
    )
    _area: strawberry.Private[models.Area]

    @classmethod
    async def build(
        cls, info: Info, area: models.Area, window_from: dt.date | None, window_to: dt.date | None
    ) -> Rollup:
        """Load the families the selected fields need (batched across areas), then fill."""
        selected = _names(info.selected_fields[0].selections)
        window = (
            None if window_from is None and window_to is None else Window(window_from, window_to)
        )
        families = {family for name in selected for family in NEEDS.get(name, ())}
        loader = info.context.loaders.rollup_by_request
        requests = [
            Request(family, area.path, None if family in UNDATED else window) for family in families
        ]
        if Family.CADRES in families and window is not None:
            requests.append(Request(Family.CADRES, area.path, None))  # the undated head count
        answers = await loader.load_many(requests)
        counts: dict[tuple[Family, bool], dict[tuple[str, str], int]] = {
            (r.family, r.window is None): a.counts for r, a in zip(requests, answers, strict=True)
        }

        def one(family: Family, metric: str, *, undated: bool = False) -> int:
            key = (family, undated or family in UNDATED or window is None)
            return counts.get(key, {}).get((metric, ""), 0)

        rollup = cls(window_from=window_from, window_to=window_to, _area=area)
        rollup.households = one(Family.HOUSEHOLDS, counters.HOUSEHOLDS)
        rollup.visited_households = one(Family.VISITS, counters.VISITED)
        rollup.coverage = _percent(rollup.visited_households, rollup.households)
        rollup.person_visits = one(Family.VISITS, counters.VISITS)
        rollup.cadres = one(Family.CADRES, counters.CADRES, undated=True)
        rollup.cadres_visiting = one(Family.CADRES, counters.CADRES_ACTIVE)
        rollup.cadres_at_quota = one(Family.CADRES, counters.CADRES_AT_QUOTA)
        rollup.participation = _percent(rollup.cadres_visiting, rollup.cadres)
        rollup.meetings = one(Family.MEETINGS, counters.MEETINGS)
        rollup.suggestions = one(Family.MEETINGS, counters.SUGGESTIONS)
        rollup.condolence_amount = Decimal(one(Family.VISITS, counters.CONDOLENCE_FEN)).scaleb(-2)
        rollup.condolence_people = one(Family.VISITS, counters.CONDOLENCE_PEOPLE)
        if Family.ITEM_STATUS in families:
            by_status = counts[(Family.ITEM_STATUS, window is None)]
            info.context.note_restricted_read("read:rollup", restricted_rows(by_status), area.path)
            totals: dict[str, int] = {}
            for (metric, key), value in by_status.items():
                if metric == counters.ITEM_STATUS:
                    status = key.split("|")[1]
                    totals[status] = totals.get(status, 0) + value
            rollup.items_by_status = [
                StatusCount(status=k, count=n) for k, n in sorted(totals.items())
            ]
        if Family.NEEDY in families:
            rollup.needy_households = [
                ReasonCount(reason=key, households=value)
                for (metric, key), value in sorted(counts[(Family.NEEDY, window is None)].items())
                if metric == counters.NEEDY
            ]
        if Family.WEEKLY in families:
            rollup.weekly_visits = [
                WeekCount(week=dt.date.fromisoformat(key), visits=value)
                for (_metric, key), value in sorted(counts[(Family.WEEKLY, window is None)].items())
            ]
        return rollup

    def _window(self) -> Window | None:
        if self.window_from is None and self.window_to is None:
            return None
        return Window(self.window_from, self.window_to)

    async def _counts(
        self, info: Info, family: Family, *, as_of: dt.date | None = None, dated: bool = True
    ) -> dict[tuple[str, str], int]:
        request = Request(family, self._area.path, self._window() if dated else None, as_of)
        answer = await info.context.loaders.rollup_by_request.load(request)
        if family in LEDGER_FAMILIES:
            info.context.note_restricted_read(
                "read:rollup", restricted_rows(answer.counts), self._area.path
            )
        return answer.counts

    @strawberry.field(description="True when some count covers only the part you may see.")
    def partial(self, info: Info) -> bool:
        rollups = info.context.loaders.rollup_answers
        return any(rollups.partial(family, self._area.path) for family in Family)

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

    @strawberry.field(description="Items open on `asOf` (default today) and past their deadline.")
    async def overdue_items(self, info: Info, as_of: dt.date | None = None) -> int:
        day = as_of or info.context.today()
        counts = await self._counts(info, Family.OVERDUE, as_of=day, dated=False)
        return sum(counts.values())
