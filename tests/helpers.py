"""Shared test helpers: GraphQL over HTTP, global ids, small row factories."""

from __future__ import annotations

import base64
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AreaLevel, Cadre, CadreRank, Department, DepartmentKind, Household
from db.queries import access as access_queries
from db.queries import areas as area_queries

TESTER = "tester"


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


async def grant(
    sessionmaker: async_sessionmaker[AsyncSession],
    username: str,
    role: str,
    area_id: int,
    department_id: int | None = None,
) -> None:
    """Give ``username`` (created if new) ``role`` at the area."""
    async with sessionmaker.begin() as session:
        user = await access_queries.get_user(session=session, username=username)
        if user is None:
            user = await access_queries.create_user(
                session=session, username=username, display_name="", cadre_id=None
            )
        await access_queries.grant(
            session=session,
            user_id=user.id,
            role=role,
            area_id=area_id,
            department_id=department_id,
        )


class Tree:
    """A tiny tree for tests: county → township → village → group, one household, one cadre."""

    county_id: int
    township_id: int
    village_id: int
    group_id: int
    household_id: int
    cadre_id: int
    other_cadre_id: int
    department_id: int
    other_group_id: int
    other_household_id: int


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
        other_village = await area_queries.create(
            session=session,
            parent=township,
            level=AreaLevel.VILLAGE,
            name="邻村",
            code="519902101002",
        )
        other_group = await area_queries.create(
            session=session, parent=other_village, level=AreaLevel.GROUP, name="一组"
        )
        household = Household(group_id=group.id, number="001", head_name="张三", members=3)
        other_household = Household(group_id=other_group.id, number="001", head_name="王五")
        cadre = Cadre(name="李四", rank=CadreRank.VILLAGE, area_id=village.id)
        other_cadre = Cadre(name="赵六", rank=CadreRank.TOWNSHIP, area_id=township.id)
        department = Department(
            county_id=county.id, kind=DepartmentKind.SERVICE_WINDOW, name="县民政局"
        )
        session.add_all([household, other_household, cadre, other_cadre, department])
        await session.flush()
        tree.other_cadre_id, tree.department_id = other_cadre.id, department.id
        tree.other_group_id, tree.other_household_id = other_group.id, other_household.id
        tree.county_id, tree.township_id = county.id, township.id
        tree.village_id, tree.group_id = village.id, group.id
        tree.household_id, tree.cadre_id = household.id, cadre.id
    # The default test client's user leads this county: sees and writes everything.
    await grant(sessionmaker, TESTER, "county_leader", tree.county_id)
    return tree
