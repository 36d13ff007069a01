"""Subtrees as path ranges: exact on both databases, siblings never leak in."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AreaLevel
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE


async def test_subtree_range_excludes_siblings_with_a_common_prefix(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        county = await area_queries.create(
            session=session, parent=None, level=AreaLevel.COUNTY, name="县"
        )
        townships = [
            await area_queries.create(
                session=session, parent=county, level=AreaLevel.TOWNSHIP, name=f"镇{i}"
            )
            for i in range(12)  # ids 2..13: "…02/" and "…12/" share no prefix trap
        ]
        first = townships[0]
        village = await area_queries.create(
            session=session, parent=first, level=AreaLevel.VILLAGE, name="村"
        )
    async with sessionmaker() as session:
        under_first = await area_queries.list_in_subtree(
            session=session, path=first.path, level=None, scope=EVERYWHERE
        )
        assert [a.id for a in under_first] == [first.id, village.id]
        villages = await area_queries.list_in_subtree(
            session=session, path=county.path, level=AreaLevel.VILLAGE, scope=EVERYWHERE
        )
        assert [a.id for a in villages] == [village.id]
        everything = await area_queries.list_in_subtree(
            session=session, path=None, level=None, scope=EVERYWHERE
        )
        assert len(everything) == 14
        children = await area_queries.list_children(
            session=session, parent_ids=[county.id], scope=EVERYWHERE
        )
        assert [a.id for a in children] == [t.id for t in townships]
        assert village.path == f"{first.path}{village.id:08d}/"
        assert village.depth == 2
