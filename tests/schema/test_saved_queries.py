"""The saved-query registry through the API: save (validated), versions, list, retire."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.demo import seed_saved_queries
from app.settings import Settings
from app.system import system_context
from db.seed import query_files
from tests.conftest import token_for
from tests.helpers import TESTER, Tree, gql, grant, make_tree

SAVE = """
mutation ($name: String!, $document: String!, $roles: [String!]!, $description: String! = "") {
  saveQuery(name: $name, document: $document, roles: $roles, description: $description) {
    created
    savedQuery { name version documentId roles description
                 variables { name type defaultValue required } }
    errors { __typename ... on UserError { code field message } }
  }
}"""
LIST = "{ savedQueries { name version } }"
VERSIONS = (
    """query ($n: String!) { savedQuery(name: $n) { version versions { version document } } }"""
)
RETIRE = """mutation ($n: String!) {
  retireSavedQuery(name: $n) { retired errors { ... on UserError { code } } } }"""
GOOD = """query Towns($from: Date, $level: AreaLevel = TOWNSHIP, $n: String!) {
  areas(level: $level) { name rollup(from: $from) { households } } area(code: $n) { name } }"""


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    found = await make_tree(sessionmaker)
    await grant(sessionmaker, TESTER, "admin", found.county_id)
    return found


async def save(client: httpx.AsyncClient, **values: object) -> dict[str, Any]:
    data = await gql(client, SAVE, {"roles": ["county_leader"], **values})
    payload: dict[str, Any] = data["saveQuery"]
    return payload


@pytest.mark.usefixtures("tree")
async def test_a_valid_document_is_saved_with_its_typed_variables(
    client: httpx.AsyncClient,
) -> None:
    payload = await save(client, name="towns", document=GOOD, description="Townships")
    assert payload["errors"] == [] and payload["created"] is True
    saved = payload["savedQuery"]
    assert isinstance(saved, dict)
    assert saved["version"] == 1 and saved["roles"] == ["county_leader"]
    assert saved["documentId"].startswith("sha256:") and len(saved["documentId"]) == 71
    assert saved["variables"] == [
        {"name": "from", "type": "Date", "defaultValue": None, "required": False},
        {"name": "level", "type": "AreaLevel", "defaultValue": "TOWNSHIP", "required": False},
        {"name": "n", "type": "String!", "defaultValue": None, "required": True},
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{ areas { nosuchfield } }", "Cannot query field 'nosuchfield' on type 'Area'."),
        ("query { areas(", "Syntax Error"),
        ('mutation { retireSavedQuery(name: "x") { retired } }', "a saved query is a query"),
        ("query A { me { username } } query B { me { username } }", "exactly one operation"),
        ("", "the document is empty"),
    ],
)
@pytest.mark.usefixtures("tree")
async def test_an_invalid_document_is_refused_with_the_validation_errors(
    client: httpx.AsyncClient, document: str, expected: str
) -> None:
    payload = await save(client, name="bad", document=document)
    errors = payload["errors"]
    assert isinstance(errors, list) and errors
    assert errors[0]["__typename"] == "InvalidDocument" and errors[0]["field"] == "document"
    assert any(expected in error["message"] for error in errors)
    assert (await gql(client, LIST))["savedQueries"] == []


@pytest.mark.usefixtures("tree")
async def test_bad_names_and_roles_are_refused(client: httpx.AsyncClient) -> None:
    payload = await save(client, name="Bad Name", document=GOOD, roles=["no_such_role"])
    assert {(e["code"], e["field"]) for e in payload["errors"]} == {
        ("NOT_ALLOWED_HERE", "name"),
        ("NOT_ALLOWED_HERE", "roles"),
    }
    nobody = await save(client, name="ok", document=GOOD, roles=[])
    assert [e["code"] for e in nobody["errors"]] == ["REQUIRED"]


@pytest.mark.usefixtures("tree")
async def test_changes_make_versions_and_an_unchanged_save_makes_none(
    client: httpx.AsyncClient,
) -> None:
    first = await save(client, name="towns", document=GOOD)
    same = await save(client, name="towns", document=GOOD)
    assert same["created"] is False and same["savedQuery"] == first["savedQuery"]
    changed = "query { me { username } }"
    second = await save(client, name="towns", document=changed)
    assert second["created"] is True and second["savedQuery"]["version"] == 2
    history = (await gql(client, VERSIONS, {"n": "towns"}))["savedQuery"]
    assert history["version"] == 2
    assert [(v["version"], v["document"]) for v in history["versions"]] == [
        (2, changed),
        (1, GOOD),
    ]


async def test_only_administrators_save_and_callers_list_what_they_may_run(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    app: Starlette,
) -> None:
    tree = await make_tree(sessionmaker)  # tester: county leader, not an administrator
    denied = await save(client, name="towns", document=GOOD)
    assert [e["code"] for e in denied["errors"]] == ["NOT_ALLOWED_HERE"]
    async with system_context(settings) as context:
        pushed = await seed_saved_queries(context)
    assert all(not p.errors for p in pushed) and len(pushed) == len(query_files())
    listed = {q["name"] for q in (await gql(client, LIST))["savedQueries"]}
    assert {"coverage-by-township", "households", "ledger-matrix"} <= listed
    # An auditor holds none of the shipped queries' roles: sees none of them.
    await grant(sessionmaker, "aud", "auditor", tree.county_id)
    headers = {"authorization": f"Bearer {token_for(settings, 'aud')}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as aud:
        assert (await gql(aud, LIST))["savedQueries"] == []
        assert (await gql(aud, VERSIONS, {"n": "households"}))["savedQuery"] is None


@pytest.mark.usefixtures("tree")
async def test_a_retired_query_no_longer_runs_and_saving_revives_it(
    client: httpx.AsyncClient,
) -> None:
    saved = await save(client, name="towns", document=GOOD)
    document_id = saved["savedQuery"]["documentId"]
    retired = (await gql(client, RETIRE, {"n": "towns"}))["retireSavedQuery"]
    assert retired == {"retired": True, "errors": []}
    assert (await gql(client, LIST))["savedQueries"] == []
    response = await client.post("/graphql", json={"documentId": document_id})
    assert response.status_code == 404
    again = (await gql(client, RETIRE, {"n": "towns"}))["retireSavedQuery"]
    assert again["errors"] == [{"code": "NOT_ALLOWED_HERE"}]
    revived = await save(client, name="towns", document=GOOD)
    assert revived["created"] is True and revived["savedQuery"]["version"] == 2
    assert (await client.post("/graphql", json={"documentId": document_id})).status_code == 200
