"""``node``/``nodes`` through strawberry's relay resolution: every Node type of the schema
(read from it) answers a missing row with null and no error, and an id naming a type
that is not a concrete Node (the interface, the root, an enum, nothing) the same."""

from __future__ import annotations

import base64

import httpx
import pytest
from graphql import GraphQLObjectType
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schema.root import schema
from tests.helpers import make_tree


def node_types() -> list[str]:
    node = schema._schema.get_type("Node")
    return sorted(
        name
        for name, t in schema._schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and node in t.interfaces
    )


def _id(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_node_types_are_known() -> None:
    assert "Area" in node_types() and "LedgerItem" in node_types() and len(node_types()) >= 9


@pytest.mark.parametrize(
    "global_id",
    [_id(f"{name}:2147483000") for name in node_types()]
    + [_id("Node:1"), _id("Query:1"), _id("AreaLevel:1"), _id("Nothing:1"), _id("Area:x")],
)
async def test_an_id_of_nothing_is_null(
    global_id: str, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await make_tree(sessionmaker)
    response = await client.post(
        "/graphql",
        json={
            "query": "query ($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }",
            "variables": {"id": global_id},
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"node": None, "nodes": [None]}}, response.text


async def test_a_row_is_found_by_its_type(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tree = await make_tree(sessionmaker)
    for name, row_id in (
        ("Area", tree.village_id),
        ("Household", tree.household_id),
        ("Cadre", tree.cadre_id),
        ("Department", tree.department_id),
    ):
        global_id = _id(f"{name}:{row_id}")
        response = await client.post(
            "/graphql",
            json={
                "query": "query ($id: ID!) { node(id: $id) { __typename id } }",
                "variables": {"id": global_id},
            },
        )
        assert response.json() == {"data": {"node": {"__typename": name, "id": global_id}}}
