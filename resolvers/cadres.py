"""Cadres and their departments, as far as the caller may see them."""

from __future__ import annotations

from db.models import Area, Cadre, Department
from db.queries import cadres as cadre_queries
from db.queries.pagination import Page
from policies.permissions import Obj
from resolvers.context import Context
from resolvers.pagination import page_request


async def by_id(context: Context, *, cadre_id: int) -> Cadre | None:
    return await context.loaders.cadre_by_id.load(cadre_id)


async def department(context: Context, cadre: Cadre) -> Department | None:
    if cadre.department_id is None:
        return None
    return await context.loaders.department_by_id.load(cadre.department_id)


async def department_by_id(context: Context, *, department_id: int) -> Department | None:
    return await context.loaders.department_by_id.load(department_id)


async def page_in_area(
    context: Context, area: Area, *, first: int | None, after: str | None
) -> Page[Cadre]:
    request = page_request(context, first=first, after=after)
    async with context.reading() as session:
        return await cadre_queries.page_in_area(
            session=session,
            area=area,
            scope=context.access.scope(Obj.CADRE),
            after=request.after,
            limit=request.limit,
        )
