"""Cadres and their departments, as far as the caller may see them."""

from __future__ import annotations

from db.models import Cadre, Department
from policies.permissions import Obj
from resolvers.common.context import Context
from resolvers.common.pagination import Held


async def by_id(context: Context, *, cadre_id: int) -> Cadre | None:
    return await context.loaders.cadre_by_id.load(cadre_id)


async def department(context: Context, cadre: Cadre) -> Department | None:
    if cadre.department_id is None:
        return None
    return await context.loaders.department_by_id.load(cadre.department_id)


async def department_by_id(context: Context, *, department_id: int) -> Department | None:
    return await context.loaders.department_by_id.load(department_id)


HELD = Held(held_by=Cadre.area_id, key=Cadre.id, obj=Obj.CADRE)  # paged by an area: its subtree
