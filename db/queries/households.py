"""Households, scoped by their group's path."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import scoping
from db.models import Area, AreaLevel, Household
from db.queries import areas as area_queries
from db.queries.pagination import Page, fetch_page
from db.scoping import ScopeShape


def visible(scope: ScopeShape) -> ColumnElement[bool]:
    return Household.group_id.in_(select(Area.id).where(scoping.clause(scope, Area.path)))


async def get_many(
    *, session: AsyncSession, household_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Household]:
    statement = select(Household).where(Household.id.in_(household_ids), visible(scope))
    return (await session.scalars(statement)).all()


async def page_in_area(
    *, session: AsyncSession, area: Area, scope: ScopeShape, after: int | None, limit: int
) -> Page[Household]:
    """Households of ``area``'s subtree, by id: a group directly, a larger area by path range."""
    statement = select(Household).where(visible(scope))
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


async def group_path(*, session: AsyncSession, household_id: int) -> str | None:
    statement = (
        select(Area.path)
        .join(Household, Household.group_id == Area.id)
        .where(Household.id == household_id)
    )
    return await session.scalar(statement)
