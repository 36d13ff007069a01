"""Visits (走访), scoped by the visited household's group; recorded with the scope
in the INSERT itself."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db import counters, scoping
from db.models import Area, AuditEvent, Cadre, Household, IdempotencyKey, Visit, VisitKind
from db.paths import path_end
from db.queries.pagination import Page, fetch_page
from db.scoping import ScopeShape


def _households_in(scope: ScopeShape) -> ColumnElement[bool]:
    groups = select(Area.id).where(scoping.clause(scope, Area.path))
    return Visit.household_id.in_(select(Household.id).where(Household.group_id.in_(groups)))


async def get_many(
    *, session: AsyncSession, visit_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Visit]:
    statement = select(Visit).where(Visit.id.in_(visit_ids), _households_in(scope))
    return (await session.scalars(statement)).all()


async def page(
    *,
    session: AsyncSession,
    scope: ScopeShape,
    household_id: int | None = None,
    cadre_id: int | None = None,
    after: int | None,
    limit: int,
) -> Page[Visit]:
    statement = select(Visit).where(_households_in(scope))
    if household_id is not None:
        statement = statement.where(Visit.household_id == household_id)
    if cadre_id is not None:
        statement = statement.where(Visit.cadre_id == cadre_id)
    return await fetch_page(
        session=session, statement=statement, key=Visit.id, after=after, limit=limit
    )


async def create(
    *,
    session: AsyncSession,
    scope: ScopeShape,
    cadre_id: int,
    household_id: int,
    visited_on: dt.date,
    notes: str,
    kind: VisitKind = VisitKind.ROUTINE,
    condolence_fen: int | None = None,
    people_visited: int | None = None,
) -> Visit | None:
    """Insert the visit if the household is in ``scope``: one INSERT … SELECT … WHERE."""
    source = (
        select(
            literal(cadre_id, Integer()),
            Household.id,
            literal(visited_on, Date()),
            literal(notes, Text()),
            literal(kind.value, String()),
            literal(condolence_fen, Integer()),
            literal(people_visited, Integer()),
        )
        .join(Area, Area.id == Household.group_id)
        .where(Household.id == household_id, scoping.clause(scope, Area.path))
    )
    statement = (
        insert(Visit)
        .from_select(
            [
                "cadre_id",
                "household_id",
                "visited_on",
                "notes",
                "kind",
                "condolence_fen",
                "people_visited",
            ],
            source,
        )
        .returning(Visit)
    )
    visit = await session.scalar(statement)
    if visit is None:
        return None
    await counters.visits_recorded(session, [visit.id])
    return visit


async def record(
    *,
    session: AsyncSession,
    scope: ScopeShape,
    cadre_scope: ScopeShape,
    self_id: int | None,
    user_id: int,
    operation: str,
    key: str,
    request_hash: str,
    request_id: str,
    cadre_id: int,
    household_id: int,
    visited_on: dt.date,
    notes: str,
    kind: VisitKind = VisitKind.ROUTINE,
    condolence_fen: int | None = None,
    people_visited: int | None = None,
) -> Visit | None:
    """The whole keyed write of one visit as one statement (PostgreSQL only).

    In order: the household (in ``scope``) and the cadre (visible in
    ``cadre_scope``, or the caller's own) are checked; the idempotency key is
    inserted unless it exists (``ON CONFLICT DO NOTHING``: a concurrent twin
    waits here, before it has locked anything, and then inserts nothing); the
    visit, under the id the key names; its audit line; its tallies and counters
    (``counters.one_visit_counted``), the counter rows last. Run outside an
    explicit transaction, the statement commits on its own when it ends.

    Returns the visit, or None when nothing was written: a reference was refused,
    or the key was taken (a replay, a reused key or a twin that committed first).
    """
    parameters: dict[str, object] = {
        "household_id": household_id,
        "cadre_id": cadre_id,
        "self_id": self_id,
        "user_id": user_id,
        "audit_user_id": user_id or None,  # 0: the service itself
        "operation": operation,
        "key": key,
        "request_hash": request_hash,
        "request_id": request_id,
        "visited_on": visited_on,
        "notes": notes,
        "kind": kind.value,
        "condolence_fen": condolence_fen,
        "people_visited": people_visited,
    }
    parameters |= _scope_parameters("scope", scope) | _scope_parameters("cadre_scope", cadre_scope)
    connection = await session.connection()
    row = (await connection.execute(_record_statement(), parameters)).first()
    if row is None:
        return None
    return Visit(**{column.key: row._mapping[column.key] for column in Visit.__table__.c})


def _in_scope(path: Any, name: str) -> ColumnElement[bool]:
    """``scoping.clause(scope, path)`` with the scope as parameters, so that one
    statement serves every scope: its subtrees as arrays of ranges ``{name}_from``,
    ``{name}_to`` (any), less those of ``{name}_denied_from``, ``{name}_denied_to``."""

    def in_any(ranges: str) -> ColumnElement[bool]:
        table = (
            func.unnest(
                bindparam(f"{ranges}_from", type_=postgresql.ARRAY(Text())),
                bindparam(f"{ranges}_to", type_=postgresql.ARRAY(Text())),
            )
            .table_valued("low", "high")
            .render_derived()
        )
        return exists().select_from(table).where(path >= table.c.low, path < table.c.high)

    return in_any(name) & ~in_any(f"{name}_denied")


def _scope_parameters(name: str, scope: ScopeShape) -> dict[str, list[str]]:
    """The values of ``_in_scope(…, name)``: department grants admit no path (as in
    ``scoping.clause`` without a department column); no grant admits nothing."""
    grants = [grant.path for grant in scope.grants if grant.department_id is None]
    return {
        f"{name}_from": grants,
        f"{name}_to": [path_end(path) for path in grants],
        f"{name}_denied_from": list(scope.denied),
        f"{name}_denied_to": [path_end(path) for path in scope.denied],
    }


@functools.cache
def _record_statement() -> Select[Any]:
    """``record``'s statement, built once (building it costs more than running it):
    everything, the scopes too, is a parameter."""
    return _build_record_statement()


def _build_record_statement() -> Select[Any]:
    def param(name: str, type_: Any) -> Any:
        return bindparam(name, type_=type_)

    cadre_id = param("cadre_id", Integer())
    # cadres.visible for one cadre: their home area in the scope, or the caller
    # themselves (a NULL self_id matches no one); a join, not an IN over the scope.
    home = aliased(Area)
    cadre_seen = exists().where(
        Cadre.id == cadre_id,
        home.id == Cadre.area_id,
        _in_scope(home.path, "cadre_scope") | (Cadre.id == param("self_id", Integer())),
    )
    source = (
        select(Household.id.label("household_id"), Area.path.label("path"))
        .join(Area, Area.id == Household.group_id)
        .where(
            Household.id == param("household_id", Integer()),
            _in_scope(Area.path, "scope"),
            cadre_seen,
        )
        .cte("checked")
    )
    keyed = (
        postgresql.insert(IdempotencyKey)
        .from_select(
            ["user_id", "operation", "key", "request_hash", "result_id"],
            select(
                param("user_id", Integer()),
                param("operation", String()),
                param("key", String()),
                param("request_hash", String()),
                func.nextval(func.pg_get_serial_sequence(Visit.__tablename__, "id")),
            ).select_from(source),
        )
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.result_id)
        .cte("keyed")
    )
    inserted = (
        insert(Visit)
        .from_select(
            [
                "id",
                "cadre_id",
                "household_id",
                "visited_on",
                "notes",
                "kind",
                "condolence_fen",
                "people_visited",
            ],
            select(
                keyed.c.result_id,
                cadre_id,
                source.c.household_id,
                param("visited_on", Date()),
                param("notes", Text()),
                param("kind", String()),
                param("condolence_fen", Integer()),
                param("people_visited", Integer()),
            ).join(source, true()),
        )
        .returning(*Visit.__table__.c)
        .cte("inserted")
    )
    audited = (
        insert(AuditEvent)
        .from_select(
            ["user_id", "action", "object_type", "object_id", "scope", "rows", "request_id"],
            select(
                param("audit_user_id", Integer()),
                param("operation", String()),
                literal("visit", String()),
                inserted.c.id,
                literal("", Text()),
                literal(1, Integer()),
                param("request_id", String()),
            ),
        )
        .returning(AuditEvent.id)
        .cte("audited")
    )
    visit = (
        select(
            inserted.c.household_id,
            inserted.c.cadre_id,
            inserted.c.condolence_fen,
            inserted.c.people_visited,
            source.c.path,
        )
        .join(source, true())
        .cte("visit")
    )
    counted = counters.one_visit_counted(visit)
    # The select list runs left to right for the visit's row: the visit, its audit
    # line, then its tallies and counters.
    return select(
        *inserted.c,
        select(func.count()).select_from(audited).scalar_subquery().label("audited"),
        select(func.count()).select_from(counted).scalar_subquery().label("counted"),
    )


async def households_in(
    *, session: AsyncSession, scope: ScopeShape, household_ids: Sequence[int]
) -> set[int]:
    """Which of ``household_ids`` exist inside ``scope``: one query for a whole batch."""
    statement = (
        select(Household.id)
        .join(Area, Area.id == Household.group_id)
        .where(Household.id.in_(sorted(set(household_ids))), scoping.clause(scope, Area.path))
    )
    return set((await session.scalars(statement)).all())


async def create_many(*, session: AsyncSession, rows: Sequence[dict[str, object]]) -> list[int]:
    """Insert checked visits in bulk (ids in input order) and count them."""
    statement = insert(Visit).returning(Visit.id, sort_by_parameter_order=True)
    ids: list[int] = []
    for start in range(0, len(rows), 500):  # see ledger_items.CHUNK
        ids += (await session.scalars(statement, list(rows[start : start + 500]))).all()
    await counters.visits_recorded(session, ids)
    return ids
