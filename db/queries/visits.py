"""Visits (走访), scoped by the visited household's group; recorded with the scope
in the INSERT itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Date, Integer, String, Text, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import counters, scoping
from db.models import Area, Household, Visit, VisitKind
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
