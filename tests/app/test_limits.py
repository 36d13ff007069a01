"""Limits: depth, aliases, tokens, cost (with list sizes), and masked unexpected errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import graphql
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from resolvers import areas as area_resolvers
from schema.limits import cost_of
from schema.root import graphql_schema
from tests.conftest import token_for
from tests.helpers import TESTER, make_tree

SECRET = 'relation "app_user" SELECT * FROM household /srv/grassroots/db/queries.py'


@pytest.fixture(autouse=True)
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await make_tree(sessionmaker)


@pytest.fixture
async def tight(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(
        update={"max_query_depth": 4, "max_aliases": 2, "max_tokens": 200, "max_query_cost": 500}
    )
    application = create_app(limited)
    headers = {"authorization": f"Bearer {token_for(settings, TESTER)}"}
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t", headers=headers
        ) as http,
    ):
        yield http


async def errors_of(http: httpx.AsyncClient, query: str, **variables: object) -> list[str]:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    return [error["message"] for error in response.json().get("errors", [])]


async def test_depth_aliases_and_tokens_are_limited(tight: httpx.AsyncClient) -> None:
    assert await errors_of(tight, "{ areas { parent { name } } }") == []
    deep = "{ areas { parent { parent { parent { parent { name } } } } } }"
    assert any("exceeds maximum operation depth" in m for m in await errors_of(tight, deep))
    aliased = "{ a: me { username } b: me { username } c: me { username } }"
    assert any("aliases" in m for m in await errors_of(tight, aliased))
    long = "{ " + " ".join(f"f{n}: __typename" for n in range(150)) + " }"
    assert any("token" in m.lower() for m in await errors_of(tight, long))


async def test_cost_counts_list_sizes_and_page_sizes(tight: httpx.AsyncClient) -> None:
    # 50 (assumed) townships × 1 field: fine; × 20 households each: too costly.
    assert await errors_of(tight, "{ areas { name } }") == []
    costly = "{ areas { households(first: 20) { edges { node { number } } } } }"
    found = await errors_of(tight, costly)
    assert len(found) == 1 and "the query costs" in found[0] and "limit of 500" in found[0]
    # The page size may come in a variable: the same query with first = 1 passes.
    by_variable = (
        "query ($n: Int) { areas { households(first: $n) { edges { node { number } } } } }"
    )
    assert await errors_of(tight, by_variable, n=1) == []
    assert await errors_of(tight, by_variable, n=20) != []


def test_cost_model() -> None:
    schema = graphql_schema()

    def cost(query: str, **variables: object) -> int:
        document = graphql.parse(query)
        return cost_of(schema, document, None, variables, page_size=20, assumed_list_size=50)

    assert cost("{ me { username } }") == 2
    assert cost("{ areas { name } }") == 1 + 50
    assert cost("{ areas { households(first: 10) { edges { node { number } } } } }") == (
        1 + 50 * (1 + 1 + 10 * (1 + 1))
    )
    # Without `first`, a connection counts the page size in force.
    assert cost("{ areas { households { edges { node { number } } } } }") == (
        1 + 50 * (1 + 1 + 20 * (1 + 1))
    )
    nodes = "query ($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    assert cost(nodes, ids=["a", "b", "c"]) == 1 + 3
    fragment = "{ areas { ...F } } fragment F on Area { name code }"
    assert cost(fragment) == 1 + 50 * 2
    assert cost("{ __schema { types { name fields { name } } } }") == 0


async def test_unexpected_errors_are_masked_logged_and_carry_the_request_id(
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(area_resolvers, "by_code", broken)
    with caplog.at_level(logging.ERROR, logger="grassroots.errors"):
        response = await client.post(
            "/graphql",
            json={"query": '{ area(code: "519902") { name } }'},
            headers={"x-request-id": "client-chosen-id-1"},
        )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "client-chosen-id-1"
    body = response.json()
    assert body["data"] == {"area": None}
    assert body["errors"] == [
        {
            "message": "Internal server error",
            "locations": [{"line": 1, "column": 3}],
            "path": ["area"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": "client-chosen-id-1"},
        }
    ]
    assert "SELECT" not in response.text and ".py" not in response.text
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "client-chosen-id-1"]
    assert logged and logged[0].exc_info is not None
    assert SECRET in str(logged[0].exc_info[1])


async def test_an_error_outside_graphql_is_a_generic_500(
    app: Starlette,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from resolvers import saved_queries

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(saved_queries, "get", broken)
    response = await client.get("/reports/households.csv", params={"area": "519902"})
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert SECRET not in response.text
