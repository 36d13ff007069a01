"""Households: lookups and pages of a subtree's households."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, AreaLevel, Household
from db.queries import areas as area_queries
from db.queries.pagination import Page, fetch_page


async def get_many(*, session: AsyncSession, household_ids: Sequence[int]) -> Sequence[Household]:
    statement = select(Household).where(Household.id.in_(household_ids))
    return (await session.scalars(statement)).all()


async def page_in_area(
    *, session: AsyncSession, area: Area, after: int | None, limit: int
) -> Page[Household]:
    """Households of ``area``'s subtree, by id: a group directly, a larger area by path range."""
    statement = select(Household)
    if area.level is AreaLevel.GROUP:
        statement = statement.where(Household.group_id == area.id)
    else:
        groups = select(Area.id).where(area_queries.in_subtree(area.path))
        statement = statement.where(Household.group_id.in_(groups))
    return await fetch_page(
        session=session, statement=statement, key=Household.id, after=after, limit=limit
    )


async def list_in_groups(*, session: AsyncSession, group_ids: Sequence[int]) -> Sequence[Household]:
    statement = select(Household).where(Household.group_id.in_(group_ids))
    return (await session.scalars(statement)).all()
