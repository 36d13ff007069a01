"""What the bad-input tests share: what every answer must be, and the world the requests
run against (a tree, a user of every role, seeded rows)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from policies.permissions import Role
from schema.root import sdl
from tests.conftest import token_for
from tests.helpers import TESTER, Tree, global_id, grant, make_tree

SDL = sdl()
JSON_TYPES = ("application/json", "application/graphql-response+json")
GRAPHQL_RESPONSE = "application/graphql-response+json"
MAX_BODY_BYTES = 1_000_000  # Settings().max_body_bytes, the default the fixtures use

# What a masked unexpected error looks like: the message the service sends with
# `extensions.code` INTERNAL_SERVER_ERROR, or strawberry's MaskErrors default.
MASKED_MESSAGES = frozenset({"Internal server error", "Unexpected error."})
# Text that must never reach a client: a traceback, a source file, the driver, SQL.
INTERNALS = ("Traceback", 'File "', ".py", "SELECT ", "INSERT ", "UPDATE ")
INTERNALS_ANY_CASE = ("sqlalchemy", "asyncpg", "sqlite3")

# -- what every answer must be ------------------------------------------------------------


def unexpected_errors(body: dict[str, Any]) -> list[str]:
    """Why the body's errors betray an unexpected failure or internals; empty if they do not."""
    errors = body.get("errors") or []
    if not isinstance(errors, list):
        return [f"`errors` is not a list: {errors!r}"]
    problems: list[str] = []
    for error in errors:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            problems.append(f"malformed error: {error!r}")
            continue
        message: str = error["message"]
        extensions = error.get("extensions") or {}
        if not isinstance(extensions, dict):
            problems.append(f"malformed extensions: {error!r}")
            continue
        if extensions.get("code") == "INTERNAL_SERVER_ERROR" or message in MASKED_MESSAGES:
            problems.append(f"unexpected (masked) error: {error!r}")
        text = message + " " + json.dumps(extensions, ensure_ascii=False)
        leaked = [marker for marker in INTERNALS if marker in text]
        leaked += [marker for marker in INTERNALS_ANY_CASE if marker in text.lower()]
        if leaked:
            problems.append(f"internals {leaked} in error: {error!r}")
    return problems


def handled(response: httpx.Response, request: object) -> dict[str, Any]:
    """The response's JSON object, after checking it is a handled answer to ``request``."""
    where = f"request: {request!r:.3000}\nresponse {response.status_code}: {response.text:.3000}"
    assert response.status_code < 500, where
    media_type = response.headers.get("content-type", "").partition(";")[0].strip()
    assert media_type in JSON_TYPES, where
    body = response.json()
    assert isinstance(body, dict), where
    problems = unexpected_errors(body)
    assert not problems, "\n".join([*problems, where])
    return body


def refused(response: httpx.Response, status: int, code: str, request: object) -> dict[str, Any]:
    """A request refused before execution: ``status``, one error of ``code``, no ``data``."""
    body = handled(response, request)
    assert response.status_code == status, (request, response.status_code, body)
    assert "data" not in body, (request, body)
    assert [e["extensions"]["code"] for e in body["errors"]] == [code], (request, body)
    return body


# -- the world the requests run against ---------------------------------------------------

# Where each role's user is granted: the county, its township, or the tree's village.
AT_VILLAGE = {Role.VILLAGE_SECRETARY, Role.VILLAGE_CADRE, Role.GROUP_HEAD}
AT_TOWNSHIP = {Role.TOWNSHIP_LEADER, Role.TOWNSHIP_CADRE}


def user_of(role: Role) -> str:
    return f"fuzz-{role.value}"


SCOPED = user_of(Role.VILLAGE_SECRETARY)  # sees the tree's village only
AUDITOR = user_of(Role.AUDITOR)
ADMIN = user_of(Role.ADMIN)
WORLD_ROLES = (Role.VILLAGE_SECRETARY, Role.AUDITOR, Role.ADMIN)


@dataclasses.dataclass
class World:
    tree: Tree
    http: httpx.AsyncClient
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    ids: dict[str, str]  # global ids of seeded rows, by name

    async def add_user(self, role: Role) -> None:
        tree = self.tree
        area = (
            tree.village_id
            if role in AT_VILLAGE
            else tree.township_id
            if role in AT_TOWNSHIP
            else tree.county_id
        )
        department = tree.department_id if role is Role.DEPARTMENT_CADRE else None
        await grant(self.sessionmaker, user_of(role), role.value, area, department)

    async def post(self, username: str, body: object, **headers: str) -> httpx.Response:
        auth = {"authorization": f"Bearer {token_for(self.settings, username)}"}
        return await self.http.post("/graphql", json=body, headers={**auth, **headers})

    async def post_raw(
        self, content: bytes | AsyncIterator[bytes], **headers: str
    ) -> httpx.Response:
        """POST ``content`` (bytes or an async iterator) as JSON, as the tester."""
        auth = {"authorization": f"Bearer {token_for(self.settings, TESTER)}"}
        headers = {**auth, "content-type": "application/json", **headers}
        return await self.http.post("/graphql", content=content, headers=headers)

    async def gql(
        self, username: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The whole body of a request that ran (HTTP 200, ``data`` present)."""
        request = {"query": query, "variables": variables or {}}
        response = await self.post(username, request)
        body = handled(response, request)
        assert response.status_code == 200 and "data" in body, body
        return body


@pytest.fixture
async def world(
    app: Starlette, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[World]:
    """The test tree; the tester leads the county; a village secretary, an auditor, an admin."""
    tree = await make_tree(sessionmaker)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        found = World(tree=tree, http=http, settings=settings, sessionmaker=sessionmaker, ids={})
        for role in WORLD_ROLES:
            await found.add_user(role)
        yield found


SEED_VISIT = """
mutation Seed($household: ID!, $cadre: ID!, $key: String!) {
  recordVisit(input: {householdId: $household, cadreId: $cadre, visitedOn: "2014-01-10",
                      idempotencyKey: $key}) {
    row: visit { id } errors { ... on UserError { code field } }
  }
}"""
SEED_MEETING = """
mutation Seed($area: ID!, $cadre: ID!, $key: String!) {
  recordMeeting(input: {areaId: $area, heldOn: "2014-01-10", hostCadreId: $cadre,
                        attendeeCount: 12, topic: "修路", suggestions: ["修路"],
                        idempotencyKey: $key}) {
    row: meeting { id suggestions { id } } errors { ... on UserError { code field } }
  }
}"""
SEED_ITEM = """
mutation Seed($area: ID!, $household: ID!, $cadre: ID!, $key: String!) {
  recordLedgerItem(input: {ledger: "livelihood", category: "water", title: "缺水",
                           receivedOn: "2014-01-10", receivedById: $cadre, areaId: $area,
                           householdId: $household, idempotencyKey: $key}) {
    row: item { id } errors { ... on UserError { code field } }
  }
}"""


@pytest.fixture
async def seeded(world: World) -> World:
    """The world with a visit, a meeting with a suggestion and a ledger item in each village:
    ``ids["visit"]`` etc. in the tree's village, ``ids["other_visit"]`` etc. in the other."""
    tree = world.tree
    places = {
        "": (tree.village_id, tree.household_id, tree.cadre_id),
        "other_": (tree.other_group_id, tree.other_household_id, tree.other_cadre_id),
    }
    for prefix, (area, household, cadre) in places.items():
        ids = {
            "area": global_id("Area", area),
            "household": global_id("Household", household),
            "cadre": global_id("Cadre", cadre),
        }
        for name, document, variables in (
            ("visit", SEED_VISIT, {"household": ids["household"], "cadre": ids["cadre"]}),
            ("meeting", SEED_MEETING, {"area": ids["area"], "cadre": ids["cadre"]}),
            ("item", SEED_ITEM, ids),
        ):
            body = await world.gql(TESTER, document, {**variables, "key": f"seed-{prefix}{name}"})
            (payload,) = body["data"].values()
            assert payload["errors"] == [], payload
            world.ids[prefix + name] = payload["row"]["id"]
            if name == "meeting":
                world.ids[prefix + "suggestion"] = payload["row"]["suggestions"][0]["id"]
    return world


@pytest.fixture
async def everyone(seeded: World) -> World:
    """The seeded world with a user of every role."""
    for role in Role:
        if role not in WORLD_ROLES:
            await seeded.add_user(role)
    return seeded


# -- requests several files send ---------------------------------------------------------

NODE = "query Node($id: ID!) { node(id: $id) { id } }"
NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"
AREAS_UNDER = "query Areas($under: ID) { areas(under: $under) { id } }"
AREA_BY_CODE = "query Area($code: String!) { area(code: $code) { id } }"
RECORD_VISIT = """
mutation Visit($input: RecordVisitInput!) {
  recordVisit(input: $input) { visit { id } errors { ... on UserError { code field } } }
}"""


def visit_input(world: World, **fields: Any) -> dict[str, Any]:
    """A valid recordVisit input, but for ``fields``."""
    tree = world.tree
    return {
        "householdId": global_id("Household", tree.household_id),
        "cadreId": global_id("Cadre", tree.cadre_id),
        "visitedOn": "2014-01-10",
        "idempotencyKey": "visit-key-0001",
        **fields,
    }


def refused_visit(code: str, field: str) -> dict[str, Any]:
    return {"recordVisit": {"visit": None, "errors": [{"code": code, "field": field}]}}
