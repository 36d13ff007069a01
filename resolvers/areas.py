"""The area tree: by code, by subtree and level, parents, ancestors, children."""

from __future__ import annotations

from collections.abc import Sequence

from db.models import Area, AreaLevel
from db.paths import ancestor_ids
from db.queries import areas as area_queries
from resolvers.context import Context


async def by_code(context: Context, *, code: str) -> Area | None:
    async with context.reading() as session:
        return await area_queries.get_by_code(session=session, code=code)


async def by_id(context: Context, *, area_id: int) -> Area | None:
    return await context.loaders.area_by_id.load(area_id)


async def in_subtree(
    context: Context, *, under: int | None, level: AreaLevel | None
) -> Sequence[Area]:
    """Areas under the area ``under`` (itself included) or the whole tree, in tree order."""
    path = None
    if under is not None:
        root = await by_id(context, area_id=under)
        if root is None:
            return []
        path = root.path
    async with context.reading() as session:
        return await area_queries.list_in_subtree(session=session, path=path, level=level)


async def parent(context: Context, area: Area) -> Area | None:
    if area.parent_id is None:
        return None
    return await context.loaders.area_by_id.load(area.parent_id)


async def ancestors(context: Context, area: Area) -> list[Area]:
    """From the root down to the parent."""
    found = await context.loaders.area_by_id.load_many(ancestor_ids(area.path)[:-1])
    return [a for a in found if a is not None]


async def children(context: Context, area: Area) -> list[Area]:
    return await context.loaders.children_by_area_id.load(area.id)
