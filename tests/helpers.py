"""Shared test helpers: GraphQL over HTTP, global ids, small row factories."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AreaLevel, Cadre, CadreRank, Household
from db.queries import areas as area_queries


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL request; assert HTTP 200 and no errors; return ``data``."""
    body = await gql_raw(client, query, variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def gql_raw(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def global_id(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


class Tree:
    """A tiny tree for tests: county → township → village → group, one household, one cadre."""

    county_id: int
    township_id: int
    village_id: int
    group_id: int
    household_id: int
    cadre_id: int


async def make_tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    tree = Tree()
    async with sessionmaker.begin() as session:
        county = await area_queries.create(
            session=session, parent=None, level=AreaLevel.COUNTY, name="测试县", code="519902"
        )
        township = await area_queries.create(
            session=session,
            parent=county,
            level=AreaLevel.TOWNSHIP,
            name="测试镇",
            code="519902101",
        )
        village = await area_queries.create(
            session=session,
            parent=township,
            level=AreaLevel.VILLAGE,
            name="测试村",
            code="519902101001",
        )
        group = await area_queries.create(
            session=session, parent=village, level=AreaLevel.GROUP, name="一组"
        )
        household = Household(group_id=group.id, number="001", head_name="张三", members=3)
        cadre = Cadre(name="李四", rank=CadreRank.VILLAGE, area_id=village.id)
        session.add_all([household, cadre])
        await session.flush()
        tree.county_id, tree.township_id = county.id, township.id
        tree.village_id, tree.group_id = village.id, group.id
        tree.household_id, tree.cadre_id = household.id, cadre.id
    return tree
