"""The area tree, as far as the caller may see it: by code, by subtree, up and down."""

from __future__ import annotations

from collections.abc import Sequence

from db.models import Area, AreaLevel
from db.paths import ancestor_ids
from db.queries import areas as area_queries
from policies.permissions import Obj
from resolvers.common.context import Context


async def by_code(context: Context, *, code: str) -> Area | None:
    async with context.reading() as session:
        return await area_queries.get_by_code(
            session=session, code=code, scope=context.access.scope(Obj.AREA)
        )


async def by_id(context: Context, *, area_id: int) -> Area | None:
    return await context.loaders.area_by_id.load(area_id)


async def in_subtree(
    context: Context, *, under: int | None, level: AreaLevel | None
) -> Sequence[Area]:
    """Visible areas under ``under`` (itself included) or everywhere, in tree order."""
    path = None
    if under is not None:
        root = await by_id(context, area_id=under)
        if root is None:
            return []
        path = root.path
    async with context.reading() as session:
        return await area_queries.list_in_subtree(
            session=session, path=path, level=level, scope=context.access.scope(Obj.AREA)
        )


async def parent(context: Context, area: Area) -> Area | None:
    """The parent, or None at the top of what the caller may see."""
    if area.parent_id is None:
        return None
    return await context.loaders.area_by_id.load(area.parent_id)


async def ancestors(context: Context, area: Area) -> list[Area]:
    """From the top down to the parent, as far as the caller may see."""
    found = await context.loaders.area_by_id.load_many(ancestor_ids(area.path)[:-1])
    return [a for a in found if a is not None]


async def children(context: Context, area: Area) -> list[Area]:
    return await context.loaders.children_by_area_id.load(area.id)
