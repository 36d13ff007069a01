"""Rollups, from the request's selection to plain values: the one owner of a rollup.

A request selects an area (by code, or areas by id), maybe its ``children`` (and
theirs), and on each some ``rollup(from:, to:)`` fields. ``read_selection``
reads that from the GraphQL selection; ``areas_with_rollups`` answers it with
one SQL statement for every area and every selected count
(``db.queries.rollups``), with the caller's scopes in its WHERE, notes the
restricted-ledger read for the audit trail (on PostgreSQL the statement writes
the audit line itself), and returns ``RollupValue``s with plain attributes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import weakref
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    value_from_ast_untyped,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from db import counters
from db.models import Area, AreaLevel
from db.queries import rollups as rollup_queries
from db.queries.rollups import Family, Need, Scopes, Targets, need
from db.queries.rollups import TargetRow as TargetRow  # the rows the compiled path reads
from db.queries.rollups import Window as Window
from policies.authorizer import Assignment, Authorizer
from policies.permissions import Act, Obj
from resolvers.access import Access

if TYPE_CHECKING:
    from resolvers.context import Context

# Which families each plain rollup field needs.
FIELD_FAMILIES: dict[str, tuple[Family, ...]] = {
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
    "items": (Family.ITEMS,),
}


@dataclasses.dataclass(frozen=True)
class RollupSelection:
    """What one ``rollup`` field selected: its window, its fields, overdue dates."""

    window: Window | None = None
    fields: frozenset[str] = frozenset()
    overdue_as_of: frozenset[dt.date | None] = frozenset()  # None: today
    item_ledgers: tuple[str, ...] | None = None  # what `items(ledgers:)` asked for (None: all)

    def need_of(self, family: Family) -> Need:
        ledgers = self.item_ledgers if family is Family.ITEMS else None
        return need(family, self.window, None, ledgers)

    def needs(self, today: dt.date) -> list[Need]:
        families = {f for name in self.fields for f in FIELD_FAMILIES.get(name, ())}
        found = [self.need_of(f) for f in sorted(families)]
        found += [need(Family.OVERDUE, None, day or today) for day in sorted_days(self)]
        return found


def sorted_days(selection: RollupSelection) -> list[dt.date | None]:
    return sorted(selection.overdue_as_of, key=lambda d: (d is not None, d or dt.date.min))


@dataclasses.dataclass(frozen=True)
class AreaSelection:
    """The rollups selected on an area, and on its children (recursively)."""

    rollups: frozenset[RollupSelection] = frozenset()
    children: AreaSelection | None = None

    @property
    def depth(self) -> int:
        """How many levels below hold rollups (0: this area only)."""
        below = self.children
        deepest, level = 0, 0
        while below is not None:
            level += 1
            if below.rollups:
                deepest = level
            below = below.children
        return deepest

    @property
    def any_rollup(self) -> bool:
        return bool(self.rollups) or (self.children is not None and self.children.any_rollup)

    def all_rollups(self) -> set[RollupSelection]:
        found = set(self.rollups)
        if self.children is not None:
            found |= self.children.all_rollups()
        return found


# -- reading the selection -------------------------------------------------------------


def coerced(variables: object) -> dict[str, Any]:
    """A resolver's variable values as a dict (graphql-core hands a dict at run time,
    though it annotates a ``VariableValues``)."""
    found = getattr(variables, "coerced", variables)
    return dict(found) if isinstance(found, Mapping) else {}


class NotPlain(Exception):
    """The selection uses something the reader does not follow (callers fall back)."""


def as_date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise NotPlain(value) from error
    raise NotPlain(value)


def _arguments(node: FieldNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    found = {
        argument.name.value: value_from_ast_untyped(argument.value, dict(variables))
        for argument in node.arguments or ()
    }
    return {name: value for name, value in found.items() if value is not Undefined}


def argument(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    """One argument of a field, variables substituted (None when absent)."""
    return _arguments(node, variables).get(name)


def _included(node: Any, variables: Mapping[str, Any]) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("include", "skip"):
            raise NotPlain(name)
        value = None
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                value = value_from_ast_untyped(argument.value, dict(variables))
        if not isinstance(value, bool):
            raise NotPlain(name)
        if (name == "include") != value:
            return False
    return True


def fields_of(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> Iterable[FieldNode]:
    """The fields of a selection set, through fragments, as executed (include/skip)."""
    for selection in selection_set.selections if selection_set else ():
        if not _included(selection, variables):
            continue
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from fields_of(selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            yield from fields_of(fragment.selection_set, fragments, variables)


def read_rollup(
    node: FieldNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> RollupSelection:
    arguments = _arguments(node, variables)
    start, end = as_date(arguments.get("from")), as_date(arguments.get("to"))
    names: set[str] = set()
    days: set[dt.date | None] = set()
    asked: set[str] | None = set()
    for field in fields_of(node.selection_set, fragments, variables):
        name = field.name.value
        if name == "overdueItems":
            days.add(as_date(_arguments(field, variables).get("asOf")))
            continue
        names.add(name)
        if name == "items":
            ledgers = _arguments(field, variables).get("ledgers")
            if ledgers is None or asked is None:
                asked = None
            elif isinstance(ledgers, list) and all(isinstance(x, str) for x in ledgers):
                asked |= set(ledgers)
            else:
                raise NotPlain("ledgers")
    window = None if start is None and end is None else Window(start, end)
    item_ledgers = None if asked is None else tuple(sorted(asked))
    return RollupSelection(window, frozenset(names), frozenset(days), item_ledgers)


def read_selection(
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> AreaSelection:
    """The rollups selected under the area fields ``nodes`` (one response key)."""
    rollups: set[RollupSelection] = set()
    children: list[FieldNode] = []
    for node in nodes:
        for field in fields_of(node.selection_set, fragments, variables):
            if field.name.value == "rollup":
                rollups.add(read_rollup(field, fragments, variables))
            elif field.name.value == "children":
                children.append(field)
    below = read_selection(children, fragments, variables) if children else None
    return AreaSelection(frozenset(rollups), below)


# -- values ---------------------------------------------------------------------------


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


def count_of(row: TargetRow, name: str, window: Window | None) -> int:
    family, metric = COUNTS[name]
    found: int = row.values.get(need(family, window), {}).get(metric, 0)
    return found


def percent_of(row: TargetRow, name: str, window: Window | None) -> float:
    part, whole = PERCENTS[name]
    return percent(count_of(row, part, window), count_of(row, whole, window))


def money_of(row: TargetRow, window: Window | None) -> Decimal:
    """Condolence money in yuan (kept in fen: exact)."""
    fen = row.values.get(need(Family.VISITS, window), {}).get(counters.CONDOLENCE_FEN, 0)
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
        households=count_of(row, "households", window),
        visited_households=count_of(row, "visitedHouseholds", window),
        coverage=percent_of(row, "coverage", window),
        person_visits=count_of(row, "personVisits", window),
        cadres=count_of(row, "cadres", window),
        cadres_visiting=count_of(row, "cadresVisiting", window),
        cadres_at_quota=count_of(row, "cadresAtQuota", window),
        participation=percent_of(row, "participation", window),
        meetings=count_of(row, "meetings", window),
        suggestions=count_of(row, "suggestions", window),
        condolence_amount=money_of(row, window),
        condolence_people=count_of(row, "condolencePeople", window),
        items_by_status=[(s, n) for s, n in list_of(row, "itemsByStatus", selection)],
        needy_households=[(r, n) for r, n in list_of(row, "needyHouseholds", selection)],
        weekly_visits=[(w, n) for w, n in list_of(row, "weeklyVisits", selection)],
        all_items=[(l_, c, s, n) for l_, c, s, n in list_of(row, "items", selection)],
        overdue={day: overdue_of(row, day, today) for day in selection.overdue_as_of},
        partial=row.partial,
    )


# -- answering --------------------------------------------------------------------------


# Per authorizer (one policy version), per set of grants: the scopes value, built once.
_scopes: weakref.WeakKeyDictionary[Authorizer, dict[tuple[Assignment, ...], Scopes]] = (
    weakref.WeakKeyDictionary()
)


def scopes_of(access: Access) -> Scopes:
    """The caller's read scopes, as the rollup statement takes them (memoised)."""
    known = _scopes.setdefault(access.authorizer, {})
    assignments = access.principal.assignments
    found = known.get(assignments)
    if found is None:
        if len(known) > 10_000:
            known.clear()
        found = known[assignments] = _scopes_of(access)
    return found


def _scopes_of(access: Access) -> Scopes:
    ledgers = access.ledger_scopes(Act.READ)
    return Scopes(
        area=access.scope(Obj.AREA),
        families=(
            (Family.HOUSEHOLDS, access.scope(Obj.HOUSEHOLD.value)),
            (Family.VISITS, access.scope(Obj.VISIT.value)),
            (Family.CADRES, access.scope(Obj.CADRE.value)),
            (Family.MEETINGS, access.scope(Obj.MEETING.value)),
        ),
        ledgers=tuple(sorted((ledger.value, scope) for ledger, scope in ledgers.items())),
    )


@dataclasses.dataclass
class Answered:
    """The areas a statement returned, in tree order, each with its rollup values."""

    rows: list[TargetRow]
    restricted: list[tuple[int, str]]  # (rows, path) of restricted reads not yet audited

    def values(
        self, selections: Iterable[RollupSelection], today: dt.date
    ) -> dict[tuple[int, RollupSelection], RollupValue]:
        """Every area's value for each selection."""
        wanted = list(selections)
        return {(r.id, s): value_of(r, s, today) for r in self.rows for s in wanted}

    def area(self, row: TargetRow) -> Area:
        return Area(
            id=row.id,
            parent_id=row.parent_id,
            path=row.path,
            name=row.name,
            code=row.code,
            level=AreaLevel(row.level),
        )


async def areas_with_rollups(
    connection: AsyncConnection,
    access: Access,
    *,
    code: str | None = None,
    ids: Sequence[int] = (),
    selection: AreaSelection,
    today: dt.date,
    request_id: str,
    depth: int | None = None,
) -> Answered:
    """The area of ``code`` (or the areas ``ids``), its descendants down to the selection's
    depth (or ``depth``), and every selected rollup of each: one statement."""
    needs = _needs(selection, today)
    if code is not None:
        targets = Targets(by_code=True, depth=selection.depth if depth is None else depth)
        params: dict[str, Any] = {"code": code}
    else:
        targets = Targets(by_code=False, ids=len(ids), depth=0)
        params = {f"id{i}": area_id for i, area_id in enumerate(ids)}
    statement = rollup_queries.compiled(
        connection.dialect, targets, needs, scopes_of(access), audit=True
    )
    params |= {"audit_user": access.user_id or None, "audit_request": request_id}
    rows = await rollup_queries.run(connection, statement, params)
    restricted = (
        [] if statement.audits else [(row.restricted, row.path) for row in rows if row.restricted]
    )
    return Answered(rows, restricted)


@functools.lru_cache(maxsize=4096)
def _needs(selection: AreaSelection, today: dt.date) -> tuple[Need, ...]:
    """Every count the selection needs, in a fixed order (part of the statement's shape)."""
    found = {n for r in selection.all_rollups() for n in r.needs(today)}
    return tuple(sorted(found, key=_need_order))


def _need_order(need: Need) -> tuple[str, str, str]:
    return (need.family.value, repr(need.window), repr(need.as_of))


# -- within a request -----------------------------------------------------------------


def _note(context: Context, answered: Answered) -> None:
    for rows, path in answered.restricted:
        context.note_restricted_read("read:rollup", rows, path)


async def rows_by_code(
    context: Context, *, code: str, selection: AreaSelection, depth: int | None = None
) -> Answered:
    """The area of ``code``, its descendants and their rollups; restricted reads noted."""
    answered = await context.rollup_statement(
        lambda connection: areas_with_rollups(
            connection,
            context.access,
            code=code,
            selection=selection,
            today=context.today(),
            request_id=context.request_id,
            depth=depth,
        )
    )
    _note(context, answered)
    return answered


async def by_code(context: Context, *, code: str, selection: AreaSelection) -> Area | None:
    """The area of ``code`` with every rollup the request selected on it and below, in one
    statement; the areas and values it found are primed for the fields that ask next."""
    answered = await rows_by_code(context, code=code, selection=selection)
    if not answered.rows:
        return None
    areas = {row.id: answered.area(row) for row in answered.rows}
    root = areas[answered.rows[0].id]
    depth = {root.id: 0}
    children: dict[int, list[Area]] = {area_id: [] for area_id in areas}
    for row in answered.rows[1:]:
        assert row.parent_id is not None
        depth[row.id] = depth[row.parent_id] + 1
        children[row.parent_id].append(areas[row.id])
    loaders = context.loaders
    for area_id, area in areas.items():
        loaders.area_by_id.prime(area_id, area)
        if depth[area_id] < selection.depth:
            loaders.children_by_area_id.prime(area_id, children[area_id])
    for key, value in answered.values(selection.all_rollups(), context.today()).items():
        loaders.rollup_by_area.prime(key, value)
    return root


async def load_batch(
    context: Context, keys: Sequence[tuple[int, RollupSelection]]
) -> list[RollupValue]:
    """Rollups of areas that were not primed (``node``, ``areas``): one statement a tick."""
    ids = sorted({area_id for area_id, _s in keys})
    selection = AreaSelection(frozenset(s for _a, s in keys))
    answered = await context.rollup_statement(
        lambda connection: areas_with_rollups(
            connection,
            context.access,
            ids=ids,
            selection=selection,
            today=context.today(),
            request_id=context.request_id,
        )
    )
    _note(context, answered)
    values = answered.values(selection.all_rollups(), context.today())
    empty = RollupValue()
    return [values.get(key, empty) for key in keys]


async def rollup(context: Context, area: Area, selection: RollupSelection) -> RollupValue:
    return await context.loaders.rollup_by_area.load((area.id, selection))
