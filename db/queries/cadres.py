"""Cadres: lookups and pages of the cadres whose home area lies in a subtree."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Cadre, Department
from db.queries import areas as area_queries
from db.queries.pagination import Page, fetch_page


async def get_many(*, session: AsyncSession, cadre_ids: Sequence[int]) -> Sequence[Cadre]:
    return (await session.scalars(select(Cadre).where(Cadre.id.in_(cadre_ids)))).all()


async def page_in_area(
    *, session: AsyncSession, area: Area, after: int | None, limit: int
) -> Page[Cadre]:
    areas_below = select(Area.id).where(area_queries.in_subtree(area.path))
    statement = select(Cadre).where(Cadre.area_id.in_(areas_below))
    return await fetch_page(
        session=session, statement=statement, key=Cadre.id, after=after, limit=limit
    )


async def get_departments(
    *, session: AsyncSession, department_ids: Sequence[int]
) -> Sequence[Department]:
    statement = select(Department).where(Department.id.in_(department_ids))
    return (await session.scalars(statement)).all()


async def list_in_area(*, session: AsyncSession, area: Area) -> Sequence[Cadre]:
    """Every cadre whose home area lies in ``area``'s subtree."""
    areas_below = select(Area.id).where(area_queries.in_subtree(area.path))
    return (await session.scalars(select(Cadre).where(Cadre.area_id.in_(areas_below)))).all()
