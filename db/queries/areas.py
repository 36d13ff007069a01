"""The area tree: lookups, children in batches, subtrees as path ranges — all scoped."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db import counters, scoping
from db.models import Area, AreaLevel
from db.paths import child_path, path_end
from db.queries.pagination import Page, fetch_page
from db.scoping import ScopeShape

DEPTH = {
    AreaLevel.COUNTY: 0,
    AreaLevel.TOWNSHIP: 1,
    AreaLevel.VILLAGE: 2,
    AreaLevel.COMMUNITY: 2,
    AreaLevel.GROUP: 3,
}


def in_subtree(path: str) -> ColumnElement[bool]:
    """The WHERE clause for areas in the subtree at ``path`` (itself included)."""
    return (Area.path >= path) & (Area.path < path_end(path))


def visible(scope: ScopeShape) -> ColumnElement[bool]:
    return scoping.clause(scope, Area.path)


async def get_many(
    *, session: AsyncSession, area_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Area]:
    statement = select(Area).where(Area.id.in_(area_ids), visible(scope))
    return (await session.scalars(statement)).all()


async def get_by_code(*, session: AsyncSession, code: str, scope: ScopeShape) -> Area | None:
    return await session.scalar(select(Area).where(Area.code == code, visible(scope)))


async def list_children(
    *, session: AsyncSession, parent_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Area]:
    statement = (
        select(Area).where(Area.parent_id.in_(parent_ids), visible(scope)).order_by(Area.path)
    )
    return (await session.scalars(statement)).all()


async def list_in_subtree(
    *, session: AsyncSession, path: str | None, level: AreaLevel | None, scope: ScopeShape
) -> Sequence[Area]:
    """Areas under ``path`` (all when None), optionally of one level, in tree order."""
    statement = select(Area).where(visible(scope)).order_by(Area.path)
    if path is not None:
        statement = statement.where(in_subtree(path))
    if level is not None:
        statement = statement.where(Area.level == level)
    return (await session.scalars(statement)).all()


async def list_groups_of(*, session: AsyncSession, village: Area) -> Sequence[Area]:
    statement = select(Area).where(Area.parent_id == village.id, Area.level == AreaLevel.GROUP)
    return (await session.scalars(statement)).all()


async def create(
    *,
    session: AsyncSession,
    parent: Area | None,
    level: AreaLevel,
    name: str,
    code: str | None = None,
) -> Area:
    """Insert an area below ``parent``; its path needs its id, hence two statements."""
    area = Area(
        parent_id=parent.id if parent else None,
        level=level,
        name=name,
        code=code,
        depth=DEPTH[level],
        path=f"~{uuid.uuid4().hex}",  # unique placeholder until the id is known
    )
    session.add(area)
    await session.flush()
    area.path = child_path(parent.path if parent else None, area.id)
    await session.flush()
    if parent is not None:
        await counters.changed(session, parent.path)  # its children are not what they were
    return area


def contains(ancestor: Area, area: Area) -> bool:
    """Whether ``area`` lies in ``ancestor``'s subtree (itself included)."""
    return ancestor.path <= area.path < path_end(ancestor.path)


R = TypeVar("R")


async def page_held_in(
    *,
    session: AsyncSession,
    held_by: InstrumentedAttribute[Any],
    key: InstrumentedAttribute[Any],
    area: Area,
    scope: ScopeShape,
    after: int | None,
    limit: int,
) -> Page[Any]:
    """Rows whose area (``held_by``, a column of their table) lies in ``area``'s subtree
    and inside ``scope``: a page of them by ``key``."""
    areas_below = select(Area.id).where(in_subtree(area.path), scoping.clause(scope, Area.path))
    statement = select(held_by.class_).where(held_by.in_(areas_below))
    return await fetch_page(session=session, statement=statement, key=key, after=after, limit=limit)
