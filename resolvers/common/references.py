"""Checks that ids in a mutation's input name rows the caller may use, as typed errors.

Inside the write transaction. A row outside the caller's scope is reported
exactly like a row that does not exist.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, AreaLevel, Cadre, Department, Household
from db.queries import areas as area_queries
from db.queries import cadres as cadre_queries
from db.queries import households as household_queries
from policies.scope import Scope
from resolvers.common.errors import ErrorCode, InputError


@dataclasses.dataclass(frozen=True)
class Ref:
    """An id from the input: ``given`` tells "not given" from "given but unknown" (None)."""

    given: bool = False
    id: int | None = None


async def area(
    session: AsyncSession,
    field: str,
    area_id: int | None,
    levels: frozenset[AreaLevel],
    scope: Scope,
) -> Area | InputError:
    found = (
        await area_queries.get_many(session=session, area_ids=[area_id], scope=scope)
        if area_id is not None
        else []
    )
    if not found:
        return InputError(ErrorCode.UNKNOWN_AREA, field, "no such area")
    if found[0].level not in levels:
        allowed = ", ".join(sorted(levels))
        return InputError(ErrorCode.WRONG_AREA_LEVEL, field, f"must be an area of level: {allowed}")
    return found[0]


async def cadre(
    session: AsyncSession, field: str, cadre_id: int | None, scope: Scope, self_id: int | None
) -> Cadre | InputError:
    found = (
        await cadre_queries.get_many(
            session=session, cadre_ids=[cadre_id], scope=scope, self_id=self_id
        )
        if cadre_id is not None
        else []
    )
    return found[0] if found else InputError(ErrorCode.UNKNOWN_CADRE, field, "no such cadre")


async def department(
    session: AsyncSession, field: str, department_id: int | None, scope: Scope
) -> Department | InputError:
    found = (
        await cadre_queries.get_departments(
            session=session, department_ids=[department_id], scope=scope
        )
        if department_id is not None
        else []
    )
    if not found:
        return InputError(ErrorCode.UNKNOWN_DEPARTMENT, field, "no such department")
    return found[0]


async def household_in(
    session: AsyncSession,
    field: str,
    household_id: int | None,
    within: Area | None,
    scope: Scope,
) -> Household | InputError:
    """A household the caller sees, which must lie in ``within``'s subtree when given."""
    found = (
        await household_queries.get_many(session=session, household_ids=[household_id], scope=scope)
        if household_id is not None
        else []
    )
    if not found:
        return InputError(ErrorCode.UNKNOWN_HOUSEHOLD, field, "no such household")
    if within is not None:
        path = await household_queries.group_path(session=session, household_id=found[0].id)
        if path is None or not path.startswith(within.path):
            return InputError(
                ErrorCode.NOT_IN_AREA, field, "the household is not in the item's area"
            )
    return found[0]
