"""Cadres and departments, scoped: a cadre is visible where their home area is,
and always to themselves; a department to anyone with a grant in its county."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import scoping
from db.models import Area, Cadre, Department
from db.scoping import ScopeShape


def visible(scope: ScopeShape, self_id: int | None) -> ColumnElement[bool]:
    in_scope = Cadre.area_id.in_(select(Area.id).where(scoping.clause(scope, Area.path)))
    return in_scope | (Cadre.id == self_id) if self_id is not None else in_scope


async def get_many(
    *,
    session: AsyncSession,
    cadre_ids: Sequence[int],
    scope: ScopeShape,
    self_id: int | None = None,
) -> Sequence[Cadre]:
    statement = select(Cadre).where(Cadre.id.in_(cadre_ids), visible(scope, self_id))
    return (await session.scalars(statement)).all()


async def get_departments(
    *, session: AsyncSession, department_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Department]:
    statement = select(Department).where(
        Department.id.in_(department_ids), scoping.county_clause(scope, Department.county_id)
    )
    return (await session.scalars(statement)).all()


async def list_visible(
    *, session: AsyncSession, scope: ScopeShape, self_id: int | None
) -> Sequence[Cadre]:
    """Every cadre the scope admits (and the caller's own record)."""
    return (await session.scalars(select(Cadre).where(visible(scope, self_id)))).all()
