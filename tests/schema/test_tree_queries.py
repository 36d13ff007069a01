"""Reading the tree over HTTP: the demo county, lookups, node ids, pagination."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.engine import write_transaction
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE
from db.seed.demo import COUNTY_CODE, seed_demo
from tests.helpers import TESTER, global_id, gql, gql_raw, grant, make_tree

TOWNSHIPS_WITH_VILLAGES = """
query ($code: String!) {
  area(code: $code) {
    name level
    children {
      id name code level
      parent { code }
      children { name code level ancestors { code } }
    }
  }
}
"""


@pytest.fixture
async def demo(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
        county = await area_queries.get_by_code(session=session, code=COUNTY_CODE, scope=EVERYWHERE)
    assert county is not None
    await grant(sessionmaker, TESTER, "county_leader", county.id)


@pytest.mark.usefixtures("demo")
async def test_demo_county_townships_with_their_villages(client: httpx.AsyncClient) -> None:
    data = await gql(client, TOWNSHIPS_WITH_VILLAGES, {"code": COUNTY_CODE})
    county = data["area"]
    assert county["level"] == "COUNTY"
    townships = county["children"]
    assert [t["code"] for t in townships] == ["519901101", "519901102", "519901103"]
    for township in townships:
        assert township["level"] == "TOWNSHIP"
        assert township["parent"] == {"code": COUNTY_CODE}
        villages = township["children"]
        assert {v["level"] for v in villages} == {"VILLAGE", "COMMUNITY"}
        for village in villages:
            assert village["code"].startswith(township["code"])
            assert [a["code"] for a in village["ancestors"]] == [COUNTY_CODE, township["code"]]


@pytest.mark.usefixtures("demo")
async def test_areas_under_a_township_by_level(client: httpx.AsyncClient) -> None:
    data = await gql(client, '{ area(code: "519901102") { id } }')
    township_id = data["area"]["id"]
    query = """
    query ($under: ID, $level: AreaLevel) { areas(under: $under, level: $level) { code level } }
    """
    groups = (await gql(client, query, {"under": township_id, "level": "GROUP"}))["areas"]
    assert len(groups) == 16 and {g["level"] for g in groups} == {"GROUP"}
    villages = (await gql(client, query, {"under": township_id, "level": "VILLAGE"}))["areas"]
    assert [v["code"] for v in villages] == ["519901102001", "519901102002", "519901102003"]
    subtree = (await gql(client, query, {"under": township_id}))["areas"]
    assert subtree[0]["code"] == "519901102"
    assert len(subtree) == 1 + 4 + 16
    all_townships = (await gql(client, query, {"level": "TOWNSHIP"}))["areas"]
    assert len(all_townships) == 3
    # An unknown or malformed `under` is an empty subtree, not an error.
    for bad in [global_id("Area", 99999), global_id("Household", 1), "not-an-id"]:
        assert (await gql(client, query, {"under": bad}))["areas"] == []


async def test_unknown_code_is_null(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await make_tree(sessionmaker)
    assert (await gql(client, '{ area(code: "000000") { id } }'))["area"] is None


NODE = """
query ($id: ID!) {
  node(id: $id) {
    __typename id
    ... on Area { name level }
    ... on Household { headName group { name } }
    ... on Cadre { name area { name } }
  }
}
"""


async def test_node_resolves_every_type_and_nothing_else(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tree = await make_tree(sessionmaker)
    area = (await gql(client, NODE, {"id": global_id("Area", tree.village_id)}))["node"]
    assert area == {
        "__typename": "Area",
        "id": global_id("Area", tree.village_id),
        "name": "测试村",
        "level": "VILLAGE",
    }
    household = await gql(client, NODE, {"id": global_id("Household", tree.household_id)})
    assert household["node"]["group"] == {"name": "一组"}
    cadre = (await gql(client, NODE, {"id": global_id("Cadre", tree.cadre_id)}))["node"]
    assert cadre["area"] == {"name": "测试村"}
    for missing in [
        global_id("Area", 424242),
        global_id("Household", tree.cadre_id + 1000),
        global_id("Nope", 1),
        global_id("Area", -1),
        global_id("Area", 2**40),
        "%%%",
        "",
    ]:
        assert (await gql(client, NODE, {"id": missing}))["node"] is None, missing


HOUSEHOLDS = """
query ($code: String!, $first: Int, $after: String) {
  area(code: $code) {
    households(first: $first, after: $after) {
      edges { cursor node { id number } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""


@pytest.mark.usefixtures("demo")
async def test_households_paginate_by_cursor_without_gaps_or_repeats(
    client: httpx.AsyncClient,
) -> None:
    village = "519901101001"
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data = await gql(client, HOUSEHOLDS, {"code": village, "first": 7, "after": after})
        connection = data["area"]["households"]
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    everything = await gql(client, HOUSEHOLDS, {"code": village, "first": 100})
    all_ids = [e["node"]["id"] for e in everything["area"]["households"]["edges"]]
    assert seen == all_ids and len(set(seen)) == len(seen)
    assert pages == -(-len(all_ids) // 7)


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(
    ("first", "after", "message"),
    [
        (101, None, "between 0 and 100"),
        (-1, None, "between 0 and 100"),
        (5, "garbage", "not a cursor"),
        (5, global_id("Area", 1), "not a cursor"),
    ],
)
async def test_page_arguments_out_of_range_are_refused(
    client: httpx.AsyncClient, first: int, after: str | None, message: str
) -> None:
    body = await gql_raw(client, HOUSEHOLDS, {"code": COUNTY_CODE, "first": first, "after": after})
    assert body["data"]["area"] is None
    assert message in body["errors"][0]["message"]
