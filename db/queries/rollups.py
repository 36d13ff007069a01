"""Rollup counts: from the kept counters, or from the base rows (windows, partial scopes).

Every base-row query returns (holder area path, metric, key, value) for the rows
held anywhere under the requested subtrees, inside the scope, inside the date
window; the caller adds each row to every requested area whose path prefixes
the holder's. One statement per family of metrics, whatever the number of areas.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from db import counters, scoping
from db.counters import item_key, status_key
from db.ledgers import Ledger
from db.models import (
    Area,
    AreaCounter,
    Cadre,
    Household,
    LedgerItem,
    LedgerItemReason,
    Meeting,
    Suggestion,
    Visit,
)
from db.paths import path_end
from db.queries import ledger_items as item_queries
from db.scoping import ScopeShape

Row = tuple[str, str, str, int]  # holder path, metric, key, value


@dataclasses.dataclass(frozen=True)
class Window:
    start: dt.date | None = None
    end: dt.date | None = None  # inclusive

    def clause(self, column: Any) -> ColumnElement[bool]:
        parts = []
        if self.start is not None:
            parts.append(column >= self.start)
        if self.end is not None:
            parts.append(column <= self.end)
        return and_(*parts) if parts else true()


def _subtrees(column: Any, paths: Sequence[str]) -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(and_(column >= p, column < path_end(p)) for p in sorted(set(paths))))


async def counter_rows(
    *, session: AsyncSession, area_ids: Sequence[int], metrics: Sequence[str]
) -> list[tuple[int, str, str, int]]:
    table = AreaCounter.__table__.c
    statement = select(table.area_id, table.metric, table.key, table.value).where(
        table.area_id.in_(sorted(set(area_ids))), table.metric.in_(metrics)
    )
    connection = await session.connection()
    return [(a, m, k, v) for a, m, k, v in (await connection.execute(statement)).all()]


async def households(
    *, session: AsyncSession, paths: Sequence[str], scope: ScopeShape
) -> list[Row]:
    statement = (
        select(Area.path, func.count())
        .join(Household, Household.group_id == Area.id)
        .where(_subtrees(Area.path, paths), scoping.clause(scope, Area.path))
        .group_by(Area.path)
    )
    return [(p, counters.HOUSEHOLDS, "", n) for p, n in (await session.execute(statement)).all()]


async def visits(
    *, session: AsyncSession, paths: Sequence[str], scope: ScopeShape, window: Window
) -> list[Row]:
    statement = (
        select(
            Area.path,
            func.count(),
            func.count(func.distinct(Visit.household_id)),
            func.sum(Visit.condolence_fen),
            func.sum(Visit.people_visited),
        )
        .select_from(Visit)
        .join(Household, Household.id == Visit.household_id)
        .join(Area, Area.id == Household.group_id)
        .where(
            _subtrees(Area.path, paths),
            scoping.clause(scope, Area.path),
            window.clause(Visit.visited_on),
        )
        .group_by(Area.path)
    )
    rows: list[Row] = []
    for path, count, distinct, fen, people in (await session.execute(statement)).all():
        rows += [
            (path, counters.VISITS, "", count),
            (path, counters.VISITED, "", distinct),
            (path, counters.CONDOLENCE_FEN, "", int(fen or 0)),
            (path, counters.CONDOLENCE_PEOPLE, "", int(people or 0)),
        ]
    return rows


async def cadres(
    *, session: AsyncSession, paths: Sequence[str], scope: ScopeShape, window: Window
) -> list[Row]:
    where = [_subtrees(Area.path, paths), scoping.clause(scope, Area.path)]
    total = (
        select(Area.path, func.count())
        .join(Cadre, Cadre.area_id == Area.id)
        .where(*where)
        .group_by(Area.path)
    )
    rows: list[Row] = [(p, counters.CADRES, "", n) for p, n in (await session.execute(total)).all()]
    per_cadre = (
        select(Visit.cadre_id, func.count(func.distinct(Visit.household_id)).label("n"))
        .where(window.clause(Visit.visited_on))
        .group_by(Visit.cadre_id)
        .subquery()
    )
    for metric, least in ((counters.CADRES_ACTIVE, 1), (counters.CADRES_AT_QUOTA, counters.QUOTA)):
        statement = (
            select(Area.path, func.count())
            .join(Cadre, Cadre.area_id == Area.id)
            .join(per_cadre, per_cadre.c.cadre_id == Cadre.id)
            .where(*where, per_cadre.c.n >= least)
            .group_by(Area.path)
        )
        rows += [(p, metric, "", n) for p, n in (await session.execute(statement)).all()]
    return rows


async def meetings(
    *, session: AsyncSession, paths: Sequence[str], scope: ScopeShape, window: Window
) -> list[Row]:
    where = [
        _subtrees(Area.path, paths),
        scoping.clause(scope, Area.path),
        window.clause(Meeting.held_on),
    ]
    held = (
        select(Area.path, func.count())
        .join(Meeting, Meeting.area_id == Area.id)
        .where(*where)
        .group_by(Area.path)
    )
    said = (
        select(Area.path, func.count())
        .join(Meeting, Meeting.area_id == Area.id)
        .join(Suggestion, Suggestion.meeting_id == Meeting.id)
        .where(*where)
        .group_by(Area.path)
    )
    rows: list[Row] = [
        (p, counters.MEETINGS, "", n) for p, n in (await session.execute(held)).all()
    ]
    rows += [(p, counters.SUGGESTIONS, "", n) for p, n in (await session.execute(said)).all()]
    return rows


async def items(
    *,
    session: AsyncSession,
    paths: Sequence[str],
    scopes: item_queries.LedgerScopes,
    window: Window,
) -> list[Row]:
    statement = (
        select(
            LedgerItem.area_path,
            LedgerItem.ledger,
            LedgerItem.category,
            LedgerItem.status,
            func.count(),
        )
        .where(
            _subtrees(LedgerItem.area_path, paths),
            item_queries.visible(scopes),
            window.clause(LedgerItem.received_on),
        )
        .group_by(LedgerItem.area_path, LedgerItem.ledger, LedgerItem.category, LedgerItem.status)
    )
    rows: list[Row] = []
    for path, ledger, category, status, n in (await session.execute(statement)).all():
        rows.append((path, counters.ITEMS, item_key(ledger, category, status), n))
        rows.append((path, counters.ITEM_STATUS, status_key(ledger, status), n))
    return rows


async def needy(
    *, session: AsyncSession, paths: Sequence[str], scope: ScopeShape, window: Window
) -> list[Row]:
    statement = (
        select(
            Area.path,
            LedgerItemReason.reason,
            func.count(func.distinct(LedgerItem.household_id)),
        )
        .select_from(LedgerItem)
        .join(LedgerItemReason, LedgerItemReason.item_id == LedgerItem.id)
        .join(Household, Household.id == LedgerItem.household_id)
        .join(Area, Area.id == Household.group_id)
        .where(
            LedgerItem.ledger == Ledger.HARDSHIP,
            _subtrees(Area.path, paths),
            scoping.clause(scope, LedgerItem.area_path),
            window.clause(LedgerItem.received_on),
        )
        .group_by(Area.path, LedgerItemReason.reason)
    )
    return [(p, counters.NEEDY, r, n) for p, r, n in (await session.execute(statement)).all()]


async def overdue(
    *,
    session: AsyncSession,
    paths: Sequence[str],
    scopes: item_queries.LedgerScopes,
    as_of: dt.date,
) -> list[Row]:
    statement = (
        select(LedgerItem.area_path, LedgerItem.ledger, func.count())
        .where(
            _subtrees(LedgerItem.area_path, paths),
            item_queries.visible(scopes),
            item_queries.overdue_clause(as_of),
        )
        .group_by(LedgerItem.area_path, LedgerItem.ledger)
    )
    return [
        (p, "overdue", str(ledger), n) for p, ledger, n in (await session.execute(statement)).all()
    ]


async def weekly_visits(
    *, session: AsyncSession, paths: Sequence[str], scope: ScopeShape, window: Window
) -> list[Row]:
    """Visits per week (key: the ISO Monday), held by group."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        week: Any = func.date_trunc("week", Visit.visited_on).cast(Date)
    else:
        # SQLite: weekday 0 is Sunday; step back to Monday.
        week = func.date(Visit.visited_on, "-6 days", "weekday 1")
    statement = (
        select(Area.path, week, func.count())
        .select_from(Visit)
        .join(Household, Household.id == Visit.household_id)
        .join(Area, Area.id == Household.group_id)
        .where(
            _subtrees(Area.path, paths),
            scoping.clause(scope, Area.path),
            window.clause(Visit.visited_on),
        )
        .group_by(Area.path, week)
    )
    return [(p, "weekly", str(w)[:10], n) for p, w, n in (await session.execute(statement)).all()]
