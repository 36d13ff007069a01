"""GraphQL over HTTP as the specification says: methods, media types, status codes."""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.graphql_request import GRAPHQL_RESPONSE, JSON, negotiate
from app.settings import Settings
from tests.conftest import TESTER, token_for
from tests.helpers import make_tree

QUERY = "query Towns { areas(level: TOWNSHIP) { code } }"
MUTATION = 'mutation { retireSavedQuery(name: "nothing") { retired } }'
EXPECTED = {"data": {"areas": [{"code": "519902101"}]}}


@pytest.fixture(autouse=True)
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await make_tree(sessionmaker)


async def test_post_json_and_get_run_queries(client: httpx.AsyncClient) -> None:
    posted = await client.post("/graphql", json={"query": QUERY})
    assert posted.status_code == 200 and posted.json() == EXPECTED
    assert posted.headers["content-type"] == "application/json; charset=utf-8"
    got = await client.get("/graphql", params={"query": QUERY, "operationName": "Towns"})
    assert got.status_code == 200 and got.json() == EXPECTED


async def test_a_mutation_over_get_is_refused_with_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": MUTATION})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert "data" not in response.json()


async def test_other_methods_and_media_types_are_refused(client: httpx.AsyncClient) -> None:
    assert (await client.put("/graphql", json={"query": QUERY})).status_code == 405
    form = await client.post("/graphql", data={"query": QUERY})
    assert form.status_code == 415
    text = await client.post(
        "/graphql", content=QUERY, headers={"content-type": "application/graphql"}
    )
    assert text.status_code == 415
    refused = await client.post("/graphql", json={"query": QUERY}, headers={"accept": "text/csv"})
    assert refused.status_code == 406


async def test_graphql_response_json_when_accepted(client: httpx.AsyncClient) -> None:
    headers = {"accept": f"{GRAPHQL_RESPONSE}, {JSON};q=0.9"}
    ok = await client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert ok.status_code == 200 and ok.json() == EXPECTED
    assert ok.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    # Parse and validation errors: 400, and no `data` key at all.
    for document in ("{ areas(", "{ nosuch }"):
        bad = await client.post("/graphql", json={"query": document}, headers=headers)
        assert bad.status_code == 400
        assert "data" not in bad.json() and bad.json()["errors"]
    # A wrongly typed variable fails before execution too.
    body = {"query": "query ($c: String!) { area(code: $c) { name } }", "variables": {"c": 5}}
    assert (await client.post("/graphql", json=body, headers=headers)).status_code == 400


async def test_application_json_keeps_200_for_graphql_errors(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ nosuch }"})
    assert response.status_code == 200
    assert "data" not in response.json() and response.json()["errors"]


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"\xff\xfe{}",
        b"[]",
        b'"query"',
        b'{"query": 1}',
        b'{"query": "{ me { username } }", "variables": "{}"}',
        b'{"query": "{ me { username } }", "variables": []}',
        b'{"query": "{ me { username } }", "operationName": 7}',
        b'{"query": "{ me { username } }", "extensions": []}',
        b"{}",
    ],
)
async def test_malformed_requests_get_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_get_parameters_are_type_checked(client: httpx.AsyncClient) -> None:
    bad = await client.get("/graphql", params={"query": QUERY, "variables": "{nope"})
    assert bad.status_code == 400


async def test_utf8_in_and_out(client: httpx.AsyncClient) -> None:
    body = json.dumps({"query": '{ area(code: "519902101") { name } }'}, ensure_ascii=False)
    response = await client.post(
        "/graphql",
        content=body.encode("utf-8"),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.content.decode("utf-8") == '{"data":{"area":{"name":"测试镇"}}}'


async def test_a_body_over_the_limit_gets_413(client: httpx.AsyncClient) -> None:
    padding = "x" * 1_100_000
    body = {"query": "{ me { username } }", "variables": {"pad": padding}}
    assert (await client.post("/graphql", json=body)).status_code == 413


def test_negotiation() -> None:
    assert negotiate(None) == JSON
    assert negotiate("*/*") == JSON
    assert negotiate("application/json") == JSON
    assert negotiate(GRAPHQL_RESPONSE) == GRAPHQL_RESPONSE
    assert negotiate(f"{GRAPHQL_RESPONSE}, {JSON};q=0.9") == GRAPHQL_RESPONSE
    assert negotiate(f"{GRAPHQL_RESPONSE};q=0.5, {JSON}") == JSON
    assert negotiate("text/html") is None


async def test_a_client_gone_mid_body_is_a_typed_answer_not_a_crash(
    app: Starlette, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    token = token_for(settings, TESTER)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"t"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("t", 80),
    }
    arriving: list[MutableMapping[str, Any]] = [
        {"type": "http.request", "body": b'{"query": "{ me {', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> MutableMapping[str, Any]:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    with caplog.at_level(logging.ERROR):
        await app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 400, sent
    assert b"CLIENT_GONE" in b"".join(m.get("body", b"") for m in sent)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
