"""Households: by id, an area's households as pages, and their personal data by right."""

from __future__ import annotations

import dataclasses

from db.models import Area, Household
from db.queries import households as household_queries
from db.queries.pagination import Page
from policies.permissions import Obj
from resolvers.common.context import Context
from resolvers.common.pagination import page_request


async def by_id(context: Context, *, household_id: int) -> Household | None:
    return await context.loaders.household_by_id.load(household_id)


async def page_in_area(
    context: Context, area: Area, *, first: int | None, after: str | None
) -> Page[Household]:
    request = page_request(context, first=first, after=after)
    async with context.reading() as session:
        return await household_queries.page_in_area(
            session=session,
            area=area,
            scope=context.access.scope(Obj.HOUSEHOLD),
            after=request.after,
            limit=request.limit,
        )


@dataclasses.dataclass(frozen=True)
class PersonalData:
    head_name: str
    phone: str | None
    id_number: str | None
    masked: bool


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)


def _mask_digits(value: str | None, keep_start: int, keep_end: int) -> str | None:
    if not value:
        return value
    hidden = max(0, len(value) - keep_start - keep_end)
    return value[:keep_start] + "*" * hidden + (value[-keep_end:] if keep_end else "")


async def personal_data(context: Context, household: Household) -> PersonalData:
    """Head's name, phone and ID number: in full with the personal-data right, else masked."""
    group = await context.loaders.area_by_id.load(household.group_id)
    allowed = group is not None and context.access.scope(Obj.HOUSEHOLD_PII).admits(group.path)
    if allowed:
        return PersonalData(household.head_name, household.phone, household.id_number, False)
    return PersonalData(
        head_name=_mask_name(household.head_name),
        phone=_mask_digits(household.phone, 3, 4),
        id_number=None,
        masked=True,
    )
