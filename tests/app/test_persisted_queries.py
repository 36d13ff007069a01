"""Persisted documents over HTTP: Apollo's APQ round trip, `documentId`, the allowlist."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from app.system import system_context
from resolvers import saved_queries
from resolvers.access import keys as access_keys
from schema.root import graphql_schema
from tests.conftest import token_for
from tests.helpers import TESTER, Tree, grant, make_tree

TOWNSHIPS = "query Townships { areas(level: TOWNSHIP) { code name } }"
VILLAGES = "query Villages { areas(level: VILLAGE) { code } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(query_hash: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": query_hash}}


async def save(settings: Settings, name: str, document: str, roles: list[str]) -> str:
    async with system_context(settings) as context:
        outcome = await saved_queries.save(
            context,
            graphql_schema(),
            saved_queries.SaveInput(name=name, document=document, description="", roles=roles),
        )
    assert outcome.value is not None, outcome.errors
    return outcome.value[0].document_id


def client_for(app: Starlette, settings: Settings, username: str) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token_for(settings, username)}"}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


async def test_the_apq_round_trip_as_apollo_client_does_it(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    """Hash only → miss; hash with the query → registered and run; hash only → hit."""
    body = {"operationName": "Townships", "variables": {}, "extensions": apq(sha(TOWNSHIPS))}

    miss = await client.post("/graphql", json=body)
    assert miss.status_code == 200  # Apollo Client retries on the error, not on a status
    assert miss.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }

    registered = await client.post("/graphql", json={**body, "query": TOWNSHIPS})
    expected = {"data": {"areas": [{"code": "519902101", "name": "测试镇"}]}}
    assert registered.json() == expected

    hit = await client.post("/graphql", json=body)
    assert hit.status_code == 200 and hit.json() == expected

    # Apollo Client sends hashed queries by GET when asked to: the same store answers.
    params = {"operationName": "Townships", "extensions": '{"persistedQuery":{"version":1,'
              f'"sha256Hash":"{sha(TOWNSHIPS)}"}}}}'}  # fmt: skip
    assert (await client.get("/graphql", params=params)).json() == expected


async def test_a_hash_that_is_not_the_querys_is_refused(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    body = {"query": TOWNSHIPS, "extensions": apq(sha(VILLAGES))}
    response = await client.post("/graphql", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "provided sha does not match query"
    # Nothing was registered under the wrong hash.
    miss = await client.post("/graphql", json={"extensions": apq(sha(VILLAGES))})
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-hex"}},
        {"persistedQuery": "yes"},
    ],
)
async def test_malformed_persisted_query_extensions_are_refused(
    client: httpx.AsyncClient, tree: Tree, extensions: dict[str, Any]
) -> None:
    response = await client.post("/graphql", json={"extensions": extensions})
    assert response.status_code == 400
    assert "data" not in response.json()


async def test_a_saved_query_runs_by_document_id(
    client: httpx.AsyncClient, settings: Settings, tree: Tree
) -> None:
    document_id = await save(settings, "townships", TOWNSHIPS, ["county_leader"])
    assert document_id == f"sha256:{sha(TOWNSHIPS)}"

    response = await client.post("/graphql", json={"documentId": document_id})
    assert response.json() == {"data": {"areas": [{"code": "519902101", "name": "测试镇"}]}}
    by_get = await client.get("/graphql", params={"documentId": document_id})
    assert by_get.json() == response.json()
    # A saved query also answers Apollo's hash-only request, with no registration.
    by_hash = await client.post("/graphql", json={"extensions": apq(sha(TOWNSHIPS))})
    assert by_hash.json() == response.json()


async def test_unknown_and_malformed_document_ids(client: httpx.AsyncClient, tree: Tree) -> None:
    unknown = await client.post("/graphql", json={"documentId": f"sha256:{'0' * 64}"})
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_FOUND"
    malformed = await client.post("/graphql", json={"documentId": "townships"})
    assert malformed.status_code == 400
    body = {"documentId": f"sha256:{'0' * 64}", "query": "{ me { username } }"}
    both = await client.post("/graphql", json=body)
    assert both.status_code == 400


async def test_a_reporting_tool_key_runs_saved_queries_only_and_in_its_scope(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
) -> None:
    await grant(sessionmaker, "reporter", "reporting_tool", tree.township_id)
    async with system_context(settings) as context:
        key = await access_keys.create_api_key(context, username="reporter", name="reports")
    assert key.value is not None
    document_id = await save(settings, "villages", VILLAGES, ["reporting_tool"])

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"x-api-key": key.value},
    ) as reporter:
        adhoc = await reporter.post("/graphql", json={"query": "{ areas { code } }"})
        assert adhoc.status_code == 403
        assert adhoc.json() == {
            "errors": [
                {
                    "message": "only saved queries may be run by this caller",
                    "extensions": {"code": "PERSISTED_QUERY_REQUIRED"},
                }
            ]
        }
        # Registering a document through APQ does not make it saved.
        registered = await reporter.post(
            "/graphql", json={"query": TOWNSHIPS, "extensions": apq(sha(TOWNSHIPS))}
        )
        assert registered.status_code == 403

        served = await reporter.post("/graphql", json={"documentId": document_id})
        villages = {"519902101001", "519902101002"}
        assert {a["code"] for a in served.json()["data"]["areas"]} == villages
        # The same document's text counts as the saved query too.
        same_text = await reporter.post("/graphql", json={"query": VILLAGES})
        assert same_text.json() == served.json()


async def test_the_same_saved_query_gives_each_caller_their_own_area(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
) -> None:
    document_id = await save(settings, "villages", VILLAGES, ["county_leader", "village_cadre"])
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    async with client_for(app, settings, TESTER) as leader, client_for(app, settings, "vc") as vc:
        county = (await leader.post("/graphql", json={"documentId": document_id})).json()
        village = (await vc.post("/graphql", json={"documentId": document_id})).json()
    assert {a["code"] for a in county["data"]["areas"]} == {"519902101001", "519902101002"}
    assert village["data"]["areas"] == [{"code": "519902101001"}]


async def test_a_saved_query_of_other_roles_looks_like_none(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
) -> None:
    document_id = await save(settings, "villages", VILLAGES, ["county_leader"])
    await grant(sessionmaker, "reporter", "reporting_tool", tree.county_id)
    async with client_for(app, settings, "reporter") as reporter:
        by_id = await reporter.post("/graphql", json={"documentId": document_id})
        unknown = await reporter.post("/graphql", json={"documentId": f"sha256:{'0' * 64}"})
    assert by_id.status_code == unknown.status_code == 404
    assert by_id.json() == unknown.json()


@pytest.fixture
async def locked_app(settings: Settings) -> AsyncIterator[Starlette]:
    """A production-like server: saved queries only, no automatic registration."""
    locked = settings.model_copy(
        update={"saved_queries_only": True, "apq_auto_register": False, "apq_cache_size": 2}
    )
    application = create_app(locked)
    async with application.router.lifespan_context(application):
        yield application


async def test_a_saved_queries_only_server_refuses_everyone_but_administrators(
    locked_app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
) -> None:
    document_id = await save(settings, "townships", TOWNSHIPS, ["county_leader"])
    await grant(sessionmaker, "root", "admin", tree.county_id)
    async with (
        client_for(locked_app, settings, TESTER) as leader,
        client_for(locked_app, settings, "root") as root,
    ):
        assert (await leader.post("/graphql", json={"query": VILLAGES})).status_code == 403
        saved = await leader.post("/graphql", json={"documentId": document_id})
        assert saved.json()["data"]["areas"][0]["code"] == "519902101"
        assert (await root.post("/graphql", json={"query": "{ me { username } }"})).json() == {
            "data": {"me": {"username": "root"}}
        }


async def test_automatic_registration_can_be_off(
    locked_app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
) -> None:
    await grant(sessionmaker, "root", "admin", tree.county_id)
    body = {"query": TOWNSHIPS, "extensions": apq(sha(TOWNSHIPS))}
    async with client_for(locked_app, settings, "root") as root:
        assert (await root.post("/graphql", json=body)).json()["data"]["areas"]
        again = await root.post("/graphql", json={"extensions": apq(sha(TOWNSHIPS))})
    assert again.json()["errors"][0]["message"] == "PersistedQueryNotFound"


async def test_the_apq_store_is_bounded(settings: Settings, tree: Tree) -> None:
    small = settings.model_copy(update={"apq_cache_size": 2})
    application = create_app(small)
    documents = [f"query Q{n} {{ me {{ username }} }}" for n in range(3)]
    async with (
        application.router.lifespan_context(application),
        client_for(application, settings, TESTER) as http,
    ):
        for document in documents:
            body = {"query": document, "extensions": apq(sha(document))}
            assert (await http.post("/graphql", json=body)).json()["data"]
        found = [
            "data" in (await http.post("/graphql", json={"extensions": apq(sha(d))})).json()
            for d in documents
        ]
    assert found == [False, True, True]  # the least recently used went
