"""Households: by id, and an area's households as pages."""

from __future__ import annotations

from db.models import Area, Household
from db.queries import households as household_queries
from db.queries.pagination import Page
from resolvers.context import Context
from resolvers.pagination import page_request


async def by_id(context: Context, *, household_id: int) -> Household | None:
    return await context.loaders.household_by_id.load(household_id)


async def page_in_area(
    context: Context, area: Area, *, first: int | None, after: str | None
) -> Page[Household]:
    request = page_request(context, first=first, after=after)
    async with context.reading() as session:
        return await household_queries.page_in_area(
            session=session, area=area, after=request.after, limit=request.limit
        )
