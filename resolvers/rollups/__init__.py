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
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Area, AreaLevel
from db.queries import rollups as rollup_queries
from db.queries.rollups import Family, Need, Scopes, Targets
from db.queries.rollups import TargetRow as TargetRow  # the rows the compiled path reads
from db.queries.rollups import Window as Window
from policies.authorizer import Assignment, Authorizer
from policies.permissions import Act, Obj
from resolvers.common.access import Access
from resolvers.rollups.selection import (
    FIELD_FAMILIES,
    AreaSelection,
    NotPlain,
    RollupSelection,
    argument,
    as_date,
    coerced,
    fields_of,
    read_rollup,
    read_selection,
)
from resolvers.rollups.values import (
    COUNTS,
    LISTS,
    PERCENTS,
    RollupValue,
    count_of,
    list_of,
    money_of,
    overdue_of,
    percent,
    percent_of,
    value_of,
)

if TYPE_CHECKING:
    from resolvers.common.context import Context

__all__ = [
    "COUNTS",
    "FIELD_FAMILIES",
    "LISTS",
    "PERCENTS",
    "Answered",
    "AreaSelection",
    "NotPlain",
    "Reading",
    "RollupSelection",
    "RollupValue",
    "TargetRow",
    "Window",
    "argument",
    "as_date",
    "by_code",
    "coerced",
    "count_of",
    "fields_of",
    "list_of",
    "load_batch",
    "money_of",
    "overdue_of",
    "percent",
    "percent_of",
    "read_rollup",
    "read_selection",
    "reading_of",
    "rollup",
    "rows_by_code",
    "scopes_of",
    "unchanged",
    "value_of",
]

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
    audited: bool = False  # the statement wrote the audit line of its restricted reads
    kinds: tuple[str, ...] = ()  # the kinds of version the rows' versions sum

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
    return Answered(rows, restricted, statement.audits, statement.kinds)


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


async def _answered(
    context: Context,
    *,
    code: str | None = None,
    ids: Sequence[int] = (),
    selection: AreaSelection,
    depth: int | None = None,
) -> Answered:
    """Run the request's rollup statement; its restricted reads noted for the audit."""
    answered = await context.rollup_statement(
        lambda connection: areas_with_rollups(
            connection,
            context.access,
            code=code,
            ids=ids,
            selection=selection,
            today=context.today(),
            request_id=context.request_id,
            depth=depth,
        )
    )
    _note(context, answered)
    return answered


async def rows_by_code(
    context: Context, *, code: str, selection: AreaSelection, depth: int | None = None
) -> Answered:
    """The area of ``code``, its descendants and their rollups (the compiled path's)."""
    return await _answered(context, code=code, selection=selection, depth=depth)


@dataclasses.dataclass(frozen=True)
class Reading:
    """What one rollup statement read, kept to tell later whether its answer still holds:
    the area it started from (every other row is in its subtree), that area's version,
    and the restricted reads its answer holds (audited again by every request it answers)."""

    area_id: int
    kinds: tuple[str, ...]  # the kinds of version the answer follows
    version: int  # the area's versions of those kinds, summed
    restricted: tuple[tuple[int, str], ...]  # (rows, path) of each restricted read
    audited: bool  # the statement writes the audit line (PostgreSQL)


def reading_of(answered: Answered) -> Reading:
    rows = answered.rows
    restricted = tuple((row.restricted, row.path) for row in rows if row.restricted)
    return Reading(rows[0].id, answered.kinds, rows[0].version, restricted, answered.audited)


async def unchanged(context: Context, reading: Reading) -> bool:
    """Whether nothing under ``reading``'s area has changed since (one tiny statement);
    when so, its restricted reads are audited for this request as the read itself would
    have (on PostgreSQL by that statement)."""
    audit = None
    if reading.audited and reading.restricted:
        scope = ";".join(sorted(path for _rows, path in reading.restricted))[:2000]
        audit = rollup_queries.AuditLine(
            user_id=context.access.user_id or None,
            request_id=context.request_id,
            scope=scope,
            rows=sum(rows for rows, _path in reading.restricted),
        )
    same = await context.rollup_statement(
        lambda connection: rollup_queries.unchanged(
            connection, reading.area_id, reading.kinds, reading.version, audit
        )
    )
    if same and not reading.audited:
        for rows, path in reading.restricted:
            context.note_restricted_read("read:rollup", rows, path)
    return same


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
    answered = await _answered(context, ids=ids, selection=selection)
    values = answered.values(selection.all_rollups(), context.today())
    empty = RollupValue()
    return [values.get(key, empty) for key in keys]


async def rollup(context: Context, area: Area, selection: RollupSelection) -> RollupValue:
    return await context.loaders.rollup_by_area.load((area.id, selection))
