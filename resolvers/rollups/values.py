"""A rollup's values from a statement's row: one place for both execution paths."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from db import counters
from db.queries.rollups import Family, need
from db.queries.rollups import TargetRow as TargetRow  # the rows the compiled path reads
from db.queries.rollups import Window as Window

if TYPE_CHECKING:
    pass

from resolvers.rollups.selection import RollupSelection


@dataclasses.dataclass
class RollupValue:
    """One area's rollup for one selection: plain values, ready for the response."""

    window_from: dt.date | None = None
    window_to: dt.date | None = None
    households: int = 0
    visited_households: int = 0
    coverage: float = 0.0
    person_visits: int = 0
    cadres: int = 0
    cadres_visiting: int = 0
    cadres_at_quota: int = 0
    participation: float = 0.0
    meetings: int = 0
    suggestions: int = 0
    condolence_amount: Decimal = Decimal(0)
    condolence_people: int = 0
    items_by_status: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    needy_households: list[tuple[str, int]] = dataclasses.field(default_factory=list)
    weekly_visits: list[tuple[dt.date, int]] = dataclasses.field(default_factory=list)
    all_items: list[tuple[str, str, str, int]] = dataclasses.field(default_factory=list)
    overdue: dict[dt.date | None, int] = dataclasses.field(default_factory=dict)
    partial: bool = False

    def items(self, ledgers: Sequence[str] | None) -> list[tuple[str, str, str, int]]:
        if ledgers is None:
            return self.all_items
        wanted = set(ledgers)
        return [item for item in self.all_items if item[0] in wanted]


def percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


# How each rollup field is read from a statement's row: one place for both paths.
COUNTS: dict[str, tuple[Family, str]] = {
    "households": (Family.HOUSEHOLDS, counters.HOUSEHOLDS),
    "visitedHouseholds": (Family.VISITS, counters.VISITED),
    "personVisits": (Family.VISITS, counters.VISITS),
    "condolencePeople": (Family.VISITS, counters.CONDOLENCE_PEOPLE),
    "cadres": (Family.CADRES, counters.CADRES),
    "cadresVisiting": (Family.CADRES, counters.CADRES_ACTIVE),
    "cadresAtQuota": (Family.CADRES, counters.CADRES_AT_QUOTA),
    "meetings": (Family.MEETINGS, counters.MEETINGS),
    "suggestions": (Family.MEETINGS, counters.SUGGESTIONS),
}
PERCENTS = {
    "coverage": ("visitedHouseholds", "households"),
    "participation": (
        "cadresVisiting",
        "cadres",
    ),
}
LISTS = {
    "itemsByStatus": Family.ITEM_STATUS,
    "needyHouseholds": Family.NEEDY,
    "weeklyVisits": Family.WEEKLY,
    "items": Family.ITEMS,
}


def count_of(row: TargetRow, name: str, selection: RollupSelection) -> int:
    family, metric = COUNTS[name]
    found: int = row.values.get(selection.need_of(family), {}).get(metric, 0)
    return found


def percent_of(row: TargetRow, name: str, selection: RollupSelection) -> float:
    part, whole = PERCENTS[name]
    return percent(count_of(row, part, selection), count_of(row, whole, selection))


def money_of(row: TargetRow, selection: RollupSelection) -> Decimal:
    """Condolence money in yuan (kept in fen: exact)."""
    fen = row.values.get(selection.need_of(Family.VISITS), {}).get(counters.CONDOLENCE_FEN, 0)
    return Decimal(fen).scaleb(-2)


def list_of(row: TargetRow, name: str, selection: RollupSelection) -> list[list[Any]]:
    """A list field's entries as tuples in the types' field order (weeks as dates)."""
    found: list[list[Any]] = row.values.get(selection.need_of(LISTS[name]), [])
    if name == "weeklyVisits":
        return [[dt.date.fromisoformat(str(w)[:10]), n] for w, n in found]
    return found


def overdue_of(row: TargetRow, day: dt.date | None, today: dt.date) -> int:
    found: int = row.values.get(need(Family.OVERDUE, None, day or today), {}).get("overdue", 0)
    return found


def value_of(row: TargetRow, selection: RollupSelection, today: dt.date) -> RollupValue:
    window = selection.window
    return RollupValue(
        window_from=window.start if window else None,
        window_to=window.end if window else None,
        households=count_of(row, "households", selection),
        visited_households=count_of(row, "visitedHouseholds", selection),
        coverage=percent_of(row, "coverage", selection),
        person_visits=count_of(row, "personVisits", selection),
        cadres=count_of(row, "cadres", selection),
        cadres_visiting=count_of(row, "cadresVisiting", selection),
        cadres_at_quota=count_of(row, "cadresAtQuota", selection),
        participation=percent_of(row, "participation", selection),
        meetings=count_of(row, "meetings", selection),
        suggestions=count_of(row, "suggestions", selection),
        condolence_amount=money_of(row, selection),
        condolence_people=count_of(row, "condolencePeople", selection),
        items_by_status=[(s, n) for s, n in list_of(row, "itemsByStatus", selection)],
        needy_households=[(r, n) for r, n in list_of(row, "needyHouseholds", selection)],
        weekly_visits=[(w, n) for w, n in list_of(row, "weeklyVisits", selection)],
        all_items=[(l_, c, s, n) for l_, c, s, n in list_of(row, "items", selection)],
        overdue={day: overdue_of(row, day, today) for day in selection.overdue_as_of},
        partial=row.partial,
    )
