"""Visits (走访): lookups, pages per household or cadre, and recording one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Visit, VisitKind
from db.queries.pagination import Page, fetch_page


async def get_many(*, session: AsyncSession, visit_ids: Sequence[int]) -> Sequence[Visit]:
    return (await session.scalars(select(Visit).where(Visit.id.in_(visit_ids)))).all()


async def page(
    *,
    session: AsyncSession,
    household_id: int | None = None,
    cadre_id: int | None = None,
    after: int | None,
    limit: int,
) -> Page[Visit]:
    statement = select(Visit)
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
    cadre_id: int,
    household_id: int,
    visited_on: dt.date,
    notes: str,
    kind: VisitKind = VisitKind.ROUTINE,
    condolence_fen: int | None = None,
    people_visited: int | None = None,
) -> Visit:
    visit = Visit(
        cadre_id=cadre_id,
        household_id=household_id,
        visited_on=visited_on,
        notes=notes,
        kind=kind,
        condolence_fen=condolence_fen,
        people_visited=people_visited,
    )
    session.add(visit)
    await session.flush()
    return visit
