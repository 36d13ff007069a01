"""The rows of a village ledger sheet, checked: each cell parsed, classified and placed,
every problem a ``RowError``; the ledger item each good row makes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from typing import Any, TypeVar

from db.ledgers import (
    CATALOG,
    CLOSED_STATUSES,
    HARDSHIP_REASONS,
    VILLAGE_LEDGERS,
    Action,
    Ledger,
    Resolution,
    Satisfaction,
    Status,
)
from db.models import Area, AreaLevel
from db.workdays import add_working_days
from resolvers.common.context import Context
from resolvers.ledgers import sheets
from resolvers.ledgers.catalog import visible_ledger
from resolvers.ledgers.recording import REASON_LEDGERS, TEXT_MAX, TITLE_MAX

E = TypeVar("E", bound=enum.StrEnum)
VILLAGES = frozenset({AreaLevel.VILLAGE, AreaLevel.COMMUNITY})
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_RESOLUTIONS = {
    Status.RESOLVED: {Resolution.ON_THE_SPOT, Resolution.BY_PLAN},
    Status.DECLINED: {Resolution.POLICY_DOES_NOT_ALLOW},
}


@dataclasses.dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


@dataclasses.dataclass
class Lookups:
    """What rows refer to, loaded once for the whole file."""

    writable: frozenset[Ledger]
    village: Area
    groups: dict[str, Area]
    households: dict[tuple[int, str], int]
    cadres: dict[str, list[int]]


def _shown(value: str) -> str:
    """A cell's text as an error message quotes it: at most 40 characters."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _parse_date(text: str) -> dt.date | None:
    found = _DATE.match(text)
    if not found:
        return None
    try:
        return dt.date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


class _Row:
    """Checks one row, collecting its errors."""

    def __init__(self, row: sheets.SheetRow, lookups: Lookups, today: dt.date) -> None:
        self.row = row
        self.lookups = lookups
        self.today = today
        # Cells that could not be read as text are the row's first errors; their
        # columns then read as blank and get no second error.
        self.errors = [RowError(row.number, key, why) for key, why in row.problems.items()]

    def get(self, key: str) -> str:
        return self.row.values.get(key, "")

    def fail(self, column: str, message: str) -> None:
        if column not in self.row.problems:
            self.errors.append(RowError(self.row.number, column, message))

    def text(self, key: str, limit: int, *, required: bool = False) -> str:
        value = self.get(key)
        if required and not value.strip():
            self.fail(key, "required")
        elif len(value) > limit:
            self.fail(key, f"at most {limit} characters")
        return value

    def date(self, key: str, *, required: bool = False) -> dt.date | None:
        value = self.get(key)
        if not value:
            if required:
                self.fail(key, "required")
            return None
        day = _parse_date(value)
        if day is None:
            self.fail(key, f"not a date: {_shown(value)} (write 2014-01-23)")
        elif day > self.today:
            self.fail(key, f"{day.isoformat()} is after today")
        return day

    def choice(self, key: str, kind: type[E]) -> E | None:
        value = self.get(key).lower()
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            self.fail(key, f"unknown value {_shown(value)}; one of: {', '.join(kind)}")
            return None

    def cadre(self, key: str, *, required: bool = False) -> int | None:
        name = self.get(key)
        if not name:
            if required:
                self.fail(key, "required")
            return None
        found = self.lookups.cadres.get(name, [])
        if len(found) != 1:
            self.fail(
                key,
                f"no cadre named {_shown(name)}"
                if not found
                else f"{len(found)} cadres named {_shown(name)}",
            )
            return None
        return found[0]


def check_rows(
    context: Context, rows: list[sheets.SheetRow], lookups: Lookups
) -> tuple[list[dict[str, Any]], list[tuple[str, ...]], list[dict[str, Any]], list[RowError]]:
    items: list[dict[str, Any]] = []
    reasons: list[tuple[str, ...]] = []
    events: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[tuple[object, ...], int] = {}
    today = context.today()
    for sheet_row in rows:
        row = _Row(sheet_row, lookups, today)
        checked = _check_row(context, row)
        if checked is not None and not row.errors:
            first = seen.setdefault(_receipt(*checked), sheet_row.number)
            if first != sheet_row.number:
                row.fail(sheets.ROW, f"the same item as row {first} (a duplicate row)")
        errors += row.errors
        if checked is not None and not row.errors:
            item, item_reasons = checked
            items.append(item)
            reasons.append(item_reasons)
            events.append(
                {
                    "action": Action.IMPORT,
                    "actor_id": item["received_by_id"],
                    "occurred_on": item["received_on"],
                    "from_status": None,
                    "to_status": item["status"],
                    "note": f"imported from row {sheet_row.number}",
                }
            )
    return items, reasons, events, errors


def _receipt(item: dict[str, Any], reasons: tuple[str, ...]) -> tuple[object, ...]:
    """What identifies an item in a sheet: what was received, where, from whom, when, by whom.

    Two rows alike in all of it are one item written twice, whatever their handling
    columns say (the same item in two states is no less a duplicate); rows that differ
    in the description are two items.
    """
    keys = ("ledger", "category", "area_id", "household_id", "title", "description")
    return (*(item[key] for key in keys), item["received_on"], item["received_by_id"], reasons)


def _check_row(context: Context, row: _Row) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    ledger_name = row.get("ledger").lower()
    ledger = visible_ledger(context, ledger_name)
    if ledger is None or ledger not in VILLAGE_LEDGERS or ledger not in row.lookups.writable:
        row.fail("ledger", f"unknown village ledger {_shown(ledger_name)}")
        return None
    category, item_reasons = _classification(row, ledger)
    place, household_id = _place(row, ledger)
    title = row.text("title", TITLE_MAX, required=True)
    description = row.text("description", TEXT_MAX)
    received_on = row.date("received_on", required=True)
    received_by = row.cadre("received_by", required=True)
    responsible = row.cadre("responsible")
    method = row.text("method", TEXT_MAX) or None
    plan = row.text("plan", TEXT_MAX) or None
    status = row.choice("status", Status) or Status.RECEIVED
    resolution = row.choice("resolution", Resolution)
    satisfaction = row.choice("satisfaction", Satisfaction)
    escalated_to = row.text("escalated_to", TITLE_MAX) or None
    decline_reason = row.text("decline_reason", TEXT_MAX) or None
    closed_on = row.date("closed_on")
    deadline_given = row.date("deadline") if row.get("deadline") else None
    _check_state(row, status, resolution, satisfaction, closed_on, responsible, plan, escalated_to)
    if status is Status.DECLINED and not decline_reason:
        row.fail("decline_reason", "a declined item needs the reason")
    if received_on is not None:
        for key, later in (("closed_on", closed_on), ("deadline", deadline_given)):
            if later is not None and later < received_on:
                row.fail(key, "before the date it was received")
    if row.errors or received_on is None or place is None or category is None:
        return None
    if deadline_given is not None:
        deadline, provisional = deadline_given, False
    else:
        computed = add_working_days(received_on, context.working_days(ledger))
        deadline, provisional = computed.due, computed.provisional
    item = {
        "ledger": ledger,
        "category": category,
        "title": title,
        "description": description,
        "area_id": place.id,
        "area_path": place.path,
        "household_id": household_id,
        "received_on": received_on,
        "received_by_id": received_by,
        "responsible_id": responsible,
        "method": method,
        "plan": plan,
        "deadline": deadline,
        "deadline_provisional": provisional,
        "status": status,
        "resolution": resolution,
        "escalated_to": escalated_to,
        "decline_reason": decline_reason,
        "closed_on": closed_on,
        "satisfaction": satisfaction,
        "version": 1,
    }
    return item, item_reasons


def _classification(row: _Row, ledger: Ledger) -> tuple[str | None, tuple[str, ...]]:
    category = row.get("category").lower() or None
    reasons = tuple(
        r.strip().lower() for r in re.split(r"[,，、;；]", row.get("reasons")) if r.strip()
    )
    if ledger in REASON_LEDGERS:
        bad = [r for r in reasons if r not in HARDSHIP_REASONS]
        if not reasons:
            row.fail("reasons", "give at least one reason")
        elif bad or len(set(reasons)) != len(reasons):
            row.fail("reasons", f"unknown or repeated reason; use {', '.join(HARDSHIP_REASONS)}")
        category = category or (reasons[0] if reasons else None)
        if category is not None and category not in reasons:
            row.fail("category", "must be one of the reasons")
        return category, tuple(sorted(set(reasons)))
    if reasons:
        row.fail("reasons", "only the needy-people ledger has reasons")
    if category is None:
        row.fail("category", "required")
    elif category not in CATALOG[ledger].categories:
        row.fail("category", f"unknown category {_shown(category)} of {ledger.value}")
    return category, ()


def _place(row: _Row, ledger: Ledger) -> tuple[Area | None, int | None]:
    lookups = row.lookups
    code = row.get("area_code")
    if not code:
        row.fail("area_code", "required")
        return None, None
    if code != lookups.village.code:
        row.fail(
            "area_code",
            f"{_shown(code)} is not the code of {lookups.village.name} ({lookups.village.code})",
        )
        return None, None
    place = lookups.village
    group_name = row.get("group")
    if group_name:
        group = lookups.groups.get(group_name)
        if group is None:
            row.fail("group", f"no group {_shown(group_name)} in {lookups.village.name}")
            return None, None
        place = group
    number = row.get("household")
    household_id = None
    if number:
        home_name = row.get("household_group") or group_name
        home = lookups.groups.get(home_name) if home_name else None
        if home is None:
            row.fail(
                "household_group" if row.get("household_group") else "group",
                "a household needs its group" if not home_name else f"no group {_shown(home_name)}",
            )
            return None, None
        if place.level is AreaLevel.GROUP and home.id != place.id:
            row.fail("household_group", "the household is not in the item's group")
            return None, None
        household_id = lookups.households.get((home.id, number))
        if household_id is None:
            row.fail("household", f"no household {_shown(number)} in {_shown(home_name)}")
    elif CATALOG[ledger].household_required:
        row.fail("household", "this ledger needs the household")
    return place, household_id


def _check_state(
    row: _Row,
    status: Status,
    resolution: Resolution | None,
    satisfaction: Satisfaction | None,
    closed_on: dt.date | None,
    responsible: int | None,
    plan: str | None,
    escalated_to: str | None,
) -> None:
    """The columns a status needs, and those it must not have."""
    if status in CLOSED_STATUSES:
        if closed_on is None:
            row.fail("closed_on", f"a {status.value} item needs the date it was closed")
        if resolution not in _RESOLUTIONS[status]:
            allowed = ", ".join(sorted(r.value for r in _RESOLUTIONS[status]))
            row.fail("resolution", f"a {status.value} item needs one of: {allowed}")
    else:
        for key, value in (
            ("closed_on", closed_on),
            ("resolution", resolution),
            ("satisfaction", satisfaction),
        ):
            if value is not None:
                row.fail(key, f"an open ({status.value}) item has none")
    if status in (Status.ASSIGNED, Status.PLANNED) and responsible is None:
        row.fail("responsible", f"a {status.value} item needs its responsible cadre")
    if status is Status.PLANNED and not plan:
        row.fail("plan", "a planned item needs its plan")
    if status is Status.ESCALATED and not escalated_to:
        row.fail("escalated_to", "an escalated item needs the body it was reported to")
