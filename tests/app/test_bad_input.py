"""Bad input against the real HTTP app, on SQLite and PostgreSQL.

Two halves:

- property tests over the whole schema (hypothesis-graphql): generated queries and
  mutations, with odd but well-formed values for every scalar (dates at the ends of
  the calendar, NaN and huge decimals, ids of every type and garbage, cursors,
  idempotency keys), each POSTed to /graphql by a user of every role; and documents
  with malformed scalar literals or schema violations. Whatever comes in, the answer
  is a JSON object with a status below 500, no masked unexpected error and no
  internals (tracebacks, file names, SQL, driver names) in any message;
- plain tests of malformed requests: bodies that are not JSON or not objects, GraphQL
  parameters of the wrong JSON type, bodies near and over the size limit, variables of
  the wrong type, invalid dates and amounts, NUL characters, and foreign ids — of
  another type, garbage, or of a row outside the caller's scope, which must be
  answered exactly like a missing row.

The property tests are derandomized, so CI sees the same documents every run. For
longer local fuzzing with fresh randomness, set GRASSROOTS_FUZZ_EXAMPLES (e.g. 2000).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, nodes, queries
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from db.models import Visit
from policies.permissions import Role
from resolvers.common.pagination import encode_cursor
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


# -- scalar values: well-formed but odd, and malformed --------------------------------------


def _strings(values: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return st.sampled_from(values).map(nodes.String)


def _floats(values: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return st.sampled_from(values).map(lambda value: graphql.FloatValueNode(value=value))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Literals of the wrong kind for a string-based scalar, and huge numbers.
WRONG_LITERALS = st.one_of(
    st.sampled_from([0, -1, 20140110, 2**31, 10**40]).map(nodes.Int),
    _floats(["1e309", "-1e309", "0.5", "1e-400"]),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.List([nodes.String("2014-01-10")])),
    st.just(nodes.Object([])),
)

# Each scalar: what parses (odd values included: they must reach the resolvers and be
# answered there), and what does not (refused while the document is validated).
DATES = st.one_of(
    # Near today, as real clients send them (later days are in the future).
    st.dates(dt.date(2013, 1, 1), dt.date(2027, 12, 31)).map(lambda d: nodes.String(d.isoformat())),
    # The whole calendar, to its ends.
    st.dates().map(lambda d: nodes.String(d.isoformat())),
    _strings(["0001-01-01", "9999-12-31", "2016-02-29", "20140110", "2014-W02-5"]),
)
BAD_DATES = st.one_of(
    _strings(
        [
            "2014-02-30",
            "2014-02-29",
            "2014-13-45",
            "2014-00-10",
            "0000-01-01",
            "10000-01-01",
            "-2014-01-10",
            "yesterday",
            "today",
            "",
            " 2014-01-10",
            "2014-1-1",
            "2014-01-10T00:00:00",
            "２０１４-０１-１０",
            "2014-01-10\x00",
        ]
    ),
    WRONG_LITERALS,
)
DATETIMES = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.one_of(st.none(), st.timezones()),
    ).map(lambda d: nodes.String(d.isoformat())),
    _strings(
        [
            "2014-01-10T08:00:00",
            "2014-01-10T08:00:00+08:00",
            "2014-01-10T08:00:00Z",
            "2014-01-10",
            "0001-01-01T00:00:00",
            "0001-01-02T00:00:00+14:00",
            "9999-12-31T23:59:59.999999",
            "9999-12-30T23:59:59-14:00",
        ]
    ),
)
BAD_DATETIMES = st.one_of(
    _strings(
        [
            "2014-02-30T00:00:00",
            "2014-01-10T25:00:00",
            "2014-01-10T08:00:00+25:00",
            "now",
            "yesterday",
            "",
        ]
    ),
    WRONG_LITERALS,
)
DECIMALS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(nodes.String),
    _strings(
        [
            "0",
            "0.01",
            "100.50",
            "1000000",
            "1000000.01",
            "-0",
            "-1",
            "0.001",
            "NaN",
            "-NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "1E+999999999",
            "1e-400",
            "9" * 400,
            "0." + "0" * 400 + "1",
        ]
    ),
    # Decimal takes numbers too.
    st.sampled_from([0, 100, -5, 10**40]).map(nodes.Int),
    _floats(["0.5", "1e309", "100.505"]),
)
BAD_DECIMALS = st.one_of(
    _strings(["abc", "", "1,5", "1_000x", "０.５"]),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.List([nodes.String("1")])),
)

NODE_TYPES = [
    "Area",
    "Household",
    "Cadre",
    "Department",
    "Visit",
    "Meeting",
    "Suggestion",
    "LedgerItem",
    "AuditEntry",
    "User",
]
# Row ids are small: every test starts from emptied tables (ids restart at 1).
IDS = st.one_of(
    st.builds(global_id, st.sampled_from(NODE_TYPES), st.integers(1, 12)).map(nodes.String),
    st.builds(
        global_id,
        st.sampled_from(NODE_TYPES),
        st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**30]),
    ).map(nodes.String),
    _strings(
        [
            _b64("Area:abc"),
            _b64("Area:"),
            _b64(":"),
            _b64("Area:1:2"),
            _b64("Area: 1"),
            _b64("Area:1e3"),
            "QXJlYTox",  # "Area:1" without padding
            "QXJlYTox=",
            "!!!",
            "",
            "Area:1",
            "1",
            "\x00",
            "Zm9v",  # "foo"
            base64.b64encode(b"\xff\xfe:1").decode(),
        ]
    ),
    st.text(max_size=20).map(nodes.String),
    # ID takes integers too.
    st.sampled_from([1, 0, -1, 2**31 - 1]).map(nodes.Int),
)
BAD_IDS = st.one_of(_floats(["1.5", "1e309"]), st.booleans().map(nodes.Boolean))

MIN_INT, MAX_INT = -(2**31), 2**31 - 1
INTS = st.one_of(
    st.integers(MIN_INT, MAX_INT).map(nodes.Int),
    st.sampled_from([0, 1, -1, 20, 99, 100, 101, 1000, 1001, 5000, 5001, MAX_INT, MIN_INT]).map(
        nodes.Int
    ),
)
BAD_INTS = st.one_of(
    st.sampled_from([MAX_INT + 1, MIN_INT - 1, 10**40]).map(nodes.Int),
    _floats(["1.5", "1e3"]),
    _strings(["10", "ten"]),
)

IDEMPOTENCY_KEYS = [f"fuzz-key-{n:04d}" for n in range(4)]
GOOD_DOCUMENT = "query Me { me { username } }"
CSV_SHEET = _b64(
    "ledger,category,area_code,group,title,received_on,received_by\n"
    "livelihood,road,519902101001,一组,导入,2014-01-09,李四\n"
)
STRINGS = st.one_of(
    _strings(
        [
            *IDEMPOTENCY_KEYS,
            "short",
            "k" * 128,
            "k" * 129,
            "key\twith\ttabs",
            # ledgers, categories, reasons
            "livelihood",
            "hardship",
            "stability",
            "key_work",
            "petition",
            "needy_employee",
            "water",
            "road",
            "illness",
            "disaster",
            "veterans",
            "other",
            "LIVELIHOOD",
            "ledger.*",
            # roles, objects, actions, effects, users
            *[role.value for role in Role],
            "area",
            "household",
            "household.pii",
            "visit",
            "visit.write",
            "ledger.hardship.read",
            "query.adhoc",
            "read",
            "write",
            "allow",
            "deny",
            "maybe",
            TESTER,
            "nobody",
            "recordVisit",
            # codes, names, files
            "519902",
            "519902101001",
            "519902101002",
            "测试村",
            "一组",
            "001",
            "x.xlsx",
            "x.csv",
            "x.txt",
            "../../etc/passwd",
            CSV_SHEET,
            "UEsDBBQ=",  # the start of a zip file, and nothing more
            # documents for saveQuery
            GOOD_DOCUMENT,
            "query Q($d: Date) { areas { rollup(from: $d) { households } } }",
            'mutation M { createUser(username: "x") { username } }',
            "query A { me { username } } query B { me { username } }",
            "{",
            "subscription S { me }",
            # cursors
            encode_cursor(1),
            encode_cursor(0),
            encode_cursor(2**31 - 1),
            _b64("cursor:-1"),
            _b64("cursor:abc"),
            _b64("nope"),
            # sizes and odd characters
            "",
            " ",
            "x" * 201,
            "x" * 2001,
            "长" * 5000,
            "\u202e\u200b",
            "'; DROP TABLE areas; --",
            "%_\\",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30).map(nodes.String),
)

# Inputs that once met a service bug, each pinned by the plain test named beside it.
REGRESSION_STRINGS = [
    "with a \x00 NUL",  # test_nul_characters_in_text_are_answered (PostgreSQL)
    encode_cursor(2**31),  # test_a_cursor_past_the_largest_row_id_is_answered
    encode_cursor(10**30),
]
REGRESSION_DATETIMES = [
    "0001-01-01T00:00:00+14:00",  # test_datetimes_whose_utc_is_outside_the_calendar_...
    "9999-12-31T23:59:59-14:00",
]
REGRESSION_IDS = [_b64("Household:²"), _b64("Area:１")]  # test_an_id_with_..._digit..._nothing

SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": DATES,
    "DateTime": DATETIMES | _strings(REGRESSION_DATETIMES),
    "Decimal": DECIMALS,
    "ID": IDS | _strings(REGRESSION_IDS),
    "Int": INTS,
    "String": STRINGS | _strings(REGRESSION_STRINGS),
}
# Every scalar may also come malformed: such a document is refused as a whole.
WILD_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": DATES | BAD_DATES,
    "DateTime": DATETIMES | BAD_DATETIMES,
    "Decimal": DECIMALS | BAD_DECIMALS,
    "ID": IDS | BAD_IDS,
    "Int": INTS | BAD_INTS,
    "String": STRINGS,
}

QUERIES = queries(SDL, custom_scalars=SCALARS)
MUTATIONS = mutations(SDL, custom_scalars=SCALARS)
WILD_DOCUMENTS = from_schema(SDL, custom_scalars=WILD_SCALARS)
INVALID_DOCUMENTS = from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE)


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


# -- 1. property tests over the whole schema ------------------------------------------------

HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
CI = hypothesis_settings(
    max_examples=30, deadline=None, derandomize=True, database=None, suppress_health_check=HEALTH
)
FUZZ_EXAMPLES = int(os.environ.get("GRASSROOTS_FUZZ_EXAMPLES") or 0)
LOCAL = hypothesis_settings(
    max_examples=max(FUZZ_EXAMPLES, 1), deadline=None, suppress_health_check=HEALTH
)


async def _as_every_role(world: World, document: str) -> None:
    """POST the document as a user of each role (the same documents for every role)."""
    for role in Role:
        request = {"query": document}
        response = await world.post(user_of(role), request)
        handled(response, f"as {role.value}: {request}")


@CI
@given(document=QUERIES)
async def test_generated_queries_are_answered_for_every_role(
    everyone: World, document: str
) -> None:
    await _as_every_role(everyone, document)


@CI
@given(document=MUTATIONS)
async def test_generated_mutations_are_answered_for_every_role(
    everyone: World, document: str
) -> None:
    await _as_every_role(everyone, document)


@CI
@given(document=WILD_DOCUMENTS)
async def test_documents_with_malformed_scalars_are_answered(seeded: World, document: str) -> None:
    """Malformed Date, DateTime, Decimal, ID and Int literals fail validation, cleanly."""
    request = {"query": document}
    handled(await seeded.post(TESTER, request), request)


@CI
@given(document=INVALID_DOCUMENTS)
async def test_documents_that_break_the_schema_are_refused(world: World, document: str) -> None:
    """Mode.NEGATIVE: each document violates the schema once; the answer is a 400, no data."""
    request = {"query": document}
    response = await world.post(TESTER, request, accept=GRAPHQL_RESPONSE)
    body = handled(response, request)
    assert response.status_code == 400 and "data" not in body and body["errors"], body


# Defined only when asked for: a skipped PostgreSQL test fails a CI run (tests/conftest.py).
if FUZZ_EXAMPLES:

    @LOCAL
    @given(
        document=st.one_of(
            queries(SDL, custom_scalars=SCALARS),
            mutations(SDL, custom_scalars=SCALARS),
            WILD_DOCUMENTS,
            INVALID_DOCUMENTS,
        )
    )
    async def test_long_fuzzing_with_fresh_randomness(everyone: World, document: str) -> None:
        await _as_every_role(everyone, document)


# -- 2. malformed requests ------------------------------------------------------------------


async def test_a_body_that_is_not_a_json_object_is_a_bad_request(
    world: World, subtests: pytest.Subtests
) -> None:
    bodies = [
        b"{",
        b"\xff\xfe",
        b"",
        b'{"query": "{ me { username } }"',
        b"[]",
        b"1",
        b'"x"',
        b"null",
        b"true",
        b'[{"query": "{ me { username } }"}]',
    ]
    for content in bodies:
        with subtests.test(body=content):
            refused(await world.post_raw(content), 400, "BAD_REQUEST", content)


async def test_parameters_of_the_wrong_type_are_a_bad_request(
    world: World, subtests: pytest.Subtests
) -> None:
    bodies: list[dict[str, Any]] = [
        {"query": 1},
        {"query": []},
        {"query": {}},
        {"query": True},
        {"query": GOOD_DOCUMENT, "variables": "{}"},
        {"query": GOOD_DOCUMENT, "variables": []},
        {"query": GOOD_DOCUMENT, "variables": 1},
        {"query": GOOD_DOCUMENT, "operationName": 1},
        {"query": GOOD_DOCUMENT, "operationName": ["Me"]},
        {"query": GOOD_DOCUMENT, "extensions": []},
        {"query": GOOD_DOCUMENT, "extensions": "{}"},
        {"documentId": 1},
        {},
        {"variables": {}},
    ]
    for body in bodies:
        for accept in ("application/json", GRAPHQL_RESPONSE):
            with subtests.test(body=body, accept=accept):
                response = await world.post(TESTER, body, accept=accept)
                refused(response, 400, "BAD_REQUEST", body)


AREA_BY_CODE = "query Area($code: String!) { area(code: $code) { id } }"
RECORD_VISIT = """
mutation Visit($input: RecordVisitInput!) {
  recordVisit(input: $input) { visit { id } errors { ... on UserError { code field } } }
}"""


def _visit(world: World, **fields: Any) -> dict[str, Any]:
    """A valid recordVisit input, but for ``fields``."""
    tree = world.tree
    return {
        "householdId": global_id("Household", tree.household_id),
        "cadreId": global_id("Cadre", tree.cadre_id),
        "visitedOn": "2014-01-10",
        "idempotencyKey": "visit-key-0001",
        **fields,
    }


def _refused_visit(code: str, field: str) -> dict[str, Any]:
    return {"recordVisit": {"visit": None, "errors": [{"code": code, "field": field}]}}


async def test_a_900_kb_variable_is_answered(world: World) -> None:
    body = await world.gql(TESTER, AREA_BY_CODE, {"code": "x" * 900_000})
    assert body == {"data": {"area": None}}


async def test_900_kb_of_input_is_a_typed_error(world: World) -> None:
    for field, value, code in (
        ("notes", "长" * 300_000, "TEXT_TOO_LONG"),  # 900 KB of UTF-8
        ("idempotencyKey", "k" * 900_000, "INVALID_IDEMPOTENCY_KEY"),
    ):
        body = await world.gql(TESTER, RECORD_VISIT, {"input": _visit(world, **{field: value})})
        assert body["data"] == _refused_visit(code, field)


async def test_a_batch_outside_its_size_limits_is_a_typed_error(world: World) -> None:
    entry = _visit(world)
    del entry["idempotencyKey"]
    query = """
    mutation Batch($visits: [BatchVisitInput!]!) {
      recordVisits(visits: $visits, idempotencyKey: "batch-key-0001") {
        recorded errors { ... on UserError { code field } }
      }
    }"""
    for visits in ([], [entry] * 5001):
        body = await world.gql(TESTER, query, {"visits": visits})
        expected = {"recorded": 0, "errors": [{"code": "OUT_OF_RANGE", "field": "visits"}]}
        assert body["data"]["recordVisits"] == expected, len(visits)


def _padded(size: int) -> bytes:
    """A valid request of exactly ``size`` bytes (an unused variable pads it)."""
    empty = json.dumps({"query": GOOD_DOCUMENT, "variables": {"pad": ""}}).encode()
    body = json.dumps({"query": GOOD_DOCUMENT, "variables": {"pad": "x" * (size - len(empty))}})
    assert len(body.encode()) == size
    return body.encode()


async def _chunks(content: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(content), 64 * 1024):
        yield content[start : start + 64 * 1024]


async def test_a_body_at_the_limit_is_run(world: World) -> None:
    response = await world.post_raw(_padded(MAX_BODY_BYTES))
    body = handled(response, "a body of exactly MAX_BODY_BYTES")
    assert response.status_code == 200 and body == {"data": {"me": {"username": TESTER}}}


async def test_a_body_over_the_limit_is_too_large(world: World) -> None:
    response = await world.post_raw(_padded(MAX_BODY_BYTES + 1))
    refused(response, 413, "BODY_TOO_LARGE", "MAX_BODY_BYTES + 1, with its content-length")


async def test_a_streamed_body_over_the_limit_is_too_large(world: World) -> None:
    """Without a content-length, the endpoint counts as it reads."""
    response = await world.post_raw(_chunks(_padded(MAX_BODY_BYTES + 1)))
    assert "content-length" not in response.request.headers
    refused(response, 413, "BODY_TOO_LARGE", "MAX_BODY_BYTES + 1, streamed")


async def test_a_body_longer_than_its_declared_length_is_not_run(world: World) -> None:
    """A small content-length does not let a large body through."""
    response = await world.post_raw(
        _chunks(_padded(2 * MAX_BODY_BYTES)), **{"content-length": "10"}
    )
    refused(response, 413, "BODY_TOO_LARGE", "2 MB declared as 10 bytes")


# -- variables of the wrong type ------------------------------------------------------------

HOUSEHOLDS_PAGE = """
query Page($area: ID!, $first: Int) {
  node(id: $area) { ... on Area { households(first: $first) { edges { node { id } } } } }
}"""
ROLLUP = "query Rollup($from: Date) { areas(level: COUNTY) { rollup(from: $from) { households } } }"
AUDIT = "query Audit($since: DateTime) { auditEvents(since: $since) { edges { cursor } } }"
AUDIT_PAGE = "query Audit($after: String) { auditEvents(after: $after) { edges { cursor } } }"
NODE = "query Node($id: ID!) { node(id: $id) { id } }"
NODES = "query Nodes($ids: [ID!]!) { nodes(ids: $ids) { id } }"
AREAS_UNDER = "query Areas($under: ID) { areas(under: $under) { id } }"


async def test_variables_of_the_wrong_type_are_refused_before_execution(
    world: World, subtests: pytest.Subtests
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        *[
            (HOUSEHOLDS_PAGE, {"first": value})
            for value in ["ten", "10", 1.5, 2**31, 10**40, True, [1], {"value": 1}]
        ],
        *[
            (ROLLUP, {"from": value})
            for value in [
                "2014-13-45",
                "2014-02-30",
                "yesterday",
                "",
                "0000-01-01",
                20140110,
                10**40,
                1e308,
                ["2014-01-10"],
                {"year": 2014},
            ]
        ],
        *[
            (AUDIT, {"since": value})
            for value in ["2014-02-30T00:00:00", "now", "2014-01-10T08:00:00+25:00", 1389312000]
        ],
        *[(NODE, {"id": value}) for value in [12.5, True, None, ["QXJlYTox"], {"id": 1}]],
        (NODE, {}),
        (NODES, {"ids": 1.5}),
        (NODES, {"ids": [None]}),
    ]
    area = global_id("Area", world.tree.village_id)
    for query, variables in cases:
        for accept in ("application/json", GRAPHQL_RESPONSE):
            with subtests.test(query=query.split("(")[0], variables=variables, accept=accept):
                request = {"query": query, "variables": {"area": area, **variables}}
                response = await world.post(AUDITOR, request, accept=accept)
                body = handled(response, request)
                assert "data" not in body and body["errors"], body
                assert response.status_code == (200 if accept == "application/json" else 400)


async def test_an_integer_id_is_taken_and_names_nothing(world: World) -> None:
    """GraphQL's ID accepts integers; ``12`` is no global id, so nothing is found."""
    for value in (12, 0, -1, 2**31 - 1):
        assert await world.gql(TESTER, NODE, {"id": value}) == {"data": {"node": None}}, value


CONNECTIONS = """
query Pages($after: String, $area: ID!) {
  node(id: $area) {
    ... on Area {
      households(after: $after) { edges { cursor } }
      cadres(after: $after) { edges { cursor } }
      meetings(after: $after) { edges { cursor } }
      ledgerItems(after: $after) { edges { cursor } }
    }
  }
}"""


async def test_a_cursor_that_is_no_cursor_is_an_argument_error(world: World) -> None:
    area = global_id("Area", world.tree.county_id)
    for after in ["nope", _b64("cursor:-1"), _b64("cursor:x"), _b64("offset:1"), "", "长"]:
        body = {"query": CONNECTIONS, "variables": {"after": after, "area": area}}
        found = handled(await world.post(TESTER, body), body)
        messages = {error["message"] for error in found["errors"]}
        assert messages == {"`after` is not a cursor this connection gave out"}, (after, found)


async def test_a_cursor_past_the_largest_row_id_is_answered(world: World) -> None:
    area = global_id("Area", world.tree.county_id)
    problems = []
    for row_id in (2**31, 2**63, 10**30):
        for username, query in [(TESTER, CONNECTIONS), (AUDITOR, AUDIT_PAGE)]:
            body = {"query": query, "variables": {"after": encode_cursor(row_id), "area": area}}
            try:
                handled(await world.post(username, body), body)
            except AssertionError as error:
                problems.append(f"cursor:{row_id} as {username}: {error}")
    assert not problems, "\n".join(problems)


async def test_datetimes_at_the_ends_of_the_calendar_are_answered(
    world: World, subtests: pytest.Subtests
) -> None:
    for since in ["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "0001-01-02T00:00:00+14:00"]:
        with subtests.test(since=since):
            request = {"query": AUDIT, "variables": {"since": since}}
            handled(await world.post(AUDITOR, request), request)


async def test_datetimes_whose_utc_is_outside_the_calendar_are_answered(world: World) -> None:
    """Valid times whose UTC lies before year 1 or after 9999: an answer, not a failure."""
    problems = []
    for since in ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]:
        for argument in ("since", "until"):
            query = AUDIT.replace("since", argument)
            body = {"query": query, "variables": {argument: since}}
            try:
                handled(await world.post(AUDITOR, body), body)
            except AssertionError as error:
                problems.append(str(error))
    assert not problems, "\n".join(problems)


ROLLUP_WINDOW = """
query Window($from: Date, $to: Date) {
  areas(level: COUNTY) {
    rollup(from: $from, to: $to) {
      windowFrom windowTo personVisits weeklyVisits { week visits } overdueItems
    }
  }
}"""


async def test_rollup_windows_at_the_ends_of_the_calendar_are_answered(
    seeded: World, subtests: pytest.Subtests
) -> None:
    windows = [
        ("0001-01-01", "9999-12-31"),
        ("9999-12-31", "0001-01-01"),
        ("2014-01-10", "2014-01-09"),
        ("9999-12-31", None),
        (None, "0001-01-01"),
    ]
    for start, end in windows:
        with subtests.test(start=start, end=end):
            request = {"query": ROLLUP_WINDOW, "variables": {"from": start, "to": end}}
            body = handled(await seeded.post(TESTER, request), request)
            assert "data" in body, body


async def test_overdue_as_of_the_ends_of_the_calendar_is_answered(
    seeded: World, subtests: pytest.Subtests
) -> None:
    query = """
    query Overdue($item: ID!, $asOf: Date!) {
      node(id: $item) { ... on LedgerItem { overdue(asOf: $asOf) deadline } }
      areas(level: COUNTY) { rollup { overdueItems(asOf: $asOf) } }
    }"""
    for as_of in ("0001-01-01", "9999-12-31"):
        with subtests.test(as_of=as_of):
            request = {"query": query, "variables": {"item": seeded.ids["item"], "asOf": as_of}}
            body = handled(await seeded.post(TESTER, request), request)
            assert "data" in body, body


# -- invalid dates, amounts and text in mutation inputs ---------------------------------------


async def test_an_invalid_visit_date_is_refused_before_execution(
    world: World, subtests: pytest.Subtests
) -> None:
    for visited_on in ["2014-02-30", "2014-13-45", "yesterday", "", "2014-1-1", 20140110, None]:
        with subtests.test(variable=visited_on):
            request = {
                "query": RECORD_VISIT,
                "variables": {"input": _visit(world, visitedOn=visited_on)},
            }
            response = await world.post(TESTER, request, accept=GRAPHQL_RESPONSE)
            body = handled(response, request)
            assert response.status_code == 400 and "data" not in body, body
    tree = world.tree
    household, cadre = global_id("Household", tree.household_id), global_id("Cadre", tree.cadre_id)
    for literal in ['"2014-02-30"', '"2014-13-45"', '"yesterday"', "20140110", "null"]:
        with subtests.test(literal=literal):
            query = f"""
            mutation {{
              recordVisit(input: {{householdId: "{household}", cadreId: "{cadre}",
                                   visitedOn: {literal}, idempotencyKey: "visit-key-0001"}}) {{
                visit {{ id }}
              }}
            }}"""
            request = {"query": query}
            response = await world.post(TESTER, request, accept=GRAPHQL_RESPONSE)
            body = handled(response, request)
            assert response.status_code == 400 and "data" not in body, body


async def test_a_visit_date_in_the_future_is_a_typed_error(world: World) -> None:
    for day in ["9999-12-31", (dt.date.today() + dt.timedelta(days=2)).isoformat()]:
        body = await world.gql(TESTER, RECORD_VISIT, {"input": _visit(world, visitedOn=day)})
        assert body["data"] == _refused_visit("DATE_IN_FUTURE", "visitedOn"), day


async def test_a_condolence_amount_out_of_range_is_a_typed_error(
    world: World, subtests: pytest.Subtests
) -> None:
    amounts = ["NaN", "sNaN", "-NaN", "Infinity", "-1", "1000000.01", "0.001", "1e400", "9" * 400]
    for n, amount in enumerate(amounts):
        with subtests.test(amount=amount):
            visit = _visit(
                world,
                kind="CONDOLENCE",
                condolenceAmount=amount,
                peopleVisited=2,
                idempotencyKey=f"condolence-{n:04d}",
            )
            body = await world.gql(TESTER, RECORD_VISIT, {"input": visit})
            assert body["data"] == _refused_visit("OUT_OF_RANGE", "condolenceAmount")


async def test_a_condolence_amount_that_is_no_number_is_refused_before_execution(
    world: World, subtests: pytest.Subtests
) -> None:
    for amount in ["abc", "", "1,5", True, [1], {"yuan": 1}]:
        with subtests.test(amount=amount):
            visit = _visit(world, kind="CONDOLENCE", condolenceAmount=amount, peopleVisited=2)
            request = {"query": RECORD_VISIT, "variables": {"input": visit}}
            body = handled(await world.post(TESTER, request), request)
            assert "data" not in body and body["errors"], body


RECORD_ITEM = """
mutation Item($input: RecordLedgerItemInput!) {
  recordLedgerItem(input: $input) {
    item { id deadline } errors { ... on UserError { code field } }
  }
}"""


async def test_an_old_receipt_date_gets_a_deadline(world: World, subtests: pytest.Subtests) -> None:
    tree = world.tree
    for received_on in ["0001-01-01", "1900-01-01", "2014-01-10"]:
        with subtests.test(received_on=received_on):
            item = {
                "ledger": "livelihood",
                "category": "road",
                "title": "路",
                "receivedOn": received_on,
                "receivedById": global_id("Cadre", tree.cadre_id),
                "areaId": global_id("Area", tree.village_id),
                "idempotencyKey": f"item-key-{received_on}",
            }
            payload = (await world.gql(TESTER, RECORD_ITEM, {"input": item}))["data"]
            assert payload["recordLedgerItem"]["errors"] == [], payload
            assert payload["recordLedgerItem"]["item"]["deadline"] > received_on, payload


NUL_TEXT = "before\x00after"
IMPORT_LEDGER = """
mutation Import($village: ID!, $content: String!, $key: String!) {
  importLedger(input: {villageId: $village, fileName: "sheet.csv", content: $content,
                       idempotencyKey: $key}) {
    imported rowErrors { row column } errors { ... on UserError { code field } }
  }
}"""
SET_POLICY_RULE = """
mutation Rule($role: String!) {
  setPolicyRule(role: $role, object: "visit", action: "read", effect: "allow") {
    changed errors { ... on UserError { code field } }
  }
}"""
CSV_COLUMNS = ["ledger", "category", "area_code", "group", "title", "received_on", "received_by"]


def _csv_row(**cells: str) -> dict[str, str]:
    row = {
        "ledger": "livelihood",
        "category": "road",
        "area_code": "519902101001",
        "group": "一组",
        "title": "修路",
        "received_on": "2014-01-09",
        "received_by": "李四",
    }
    return {**row, **cells}


def _sheet(world: World, row: dict[str, str], key: str) -> dict[str, Any]:
    """importLedger's variables for a CSV sheet of one row."""
    lines = [",".join(CSV_COLUMNS), ",".join(row[column] for column in CSV_COLUMNS)]
    content = base64.b64encode("\n".join(lines).encode()).decode()
    village = global_id("Area", world.tree.village_id)
    return {"village": village, "content": content, "key": key}


async def test_nul_characters_in_variables_refuse_the_request(world: World) -> None:
    """PostgreSQL stores and compares no NUL: any text with one is refused, whatever it is."""
    search = "query Q($u: String) { auditEvents(username: $u) { edges { cursor } } }"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (TESTER, "query Q($a: String!) { me { can(action: $a) } }", {"a": NUL_TEXT}),
        (TESTER, AREA_BY_CODE, {"code": NUL_TEXT}),
        (TESTER, "query Q($n: String!) { savedQuery(name: $n) { name } }", {"n": NUL_TEXT}),
        (AUDITOR, search, {"u": NUL_TEXT}),
        (AUDITOR, search.replace("username", "action"), {"u": NUL_TEXT}),
        (TESTER, RECORD_VISIT, {"input": _visit(world, notes=NUL_TEXT)}),
        (TESTER, RECORD_VISIT, {"input": _visit(world, idempotencyKey="nul-key-\x00-0001")}),
        (ADMIN, SET_POLICY_RULE, {"role": NUL_TEXT}),
    ]
    for username, query, variables in cases:
        response = await world.post(username, {"query": query, "variables": variables})
        assert response.status_code == 400, (query, response.text)
        assert response.json() == {
            "errors": [
                {
                    "message": "text may not contain NUL (U+0000) characters",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        }
    async with world.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 0


async def test_nul_characters_in_literals_and_files_are_refused(world: World) -> None:
    literal = 'query { area(code: "before\\u0000after") { name } }'
    response = await world.post(TESTER, {"query": literal}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400 and "data" not in response.json()
    assert "NUL" in response.json()["errors"][0]["message"]
    sheet = _sheet(world, _csv_row(title=NUL_TEXT), "nul-import-0001")
    body = await world.gql(TESTER, IMPORT_LEDGER, sheet)
    answer = next(iter(body["data"].values()))
    # A NUL in a cell is that cell's row error (resolvers.common.cells); nothing is imported.
    assert (answer["imported"], answer["errors"]) == (0, []), answer
    assert {"row": 2, "column": "title"} in answer["rowErrors"], answer


# -- foreign ids ----------------------------------------------------------------------------


async def test_an_id_of_another_type_names_nothing(seeded: World) -> None:
    visit = seeded.ids["visit"]
    body = await seeded.gql(TESTER, RECORD_VISIT, {"input": _visit(seeded, householdId=visit)})
    assert body["data"] == _refused_visit("UNKNOWN_HOUSEHOLD", "householdId")
    body = await seeded.gql(TESTER, RECORD_VISIT, {"input": _visit(seeded, cadreId=visit)})
    assert body["data"] == _refused_visit("UNKNOWN_CADRE", "cadreId")
    # node() takes the type from the id: a Visit id finds the visit, never a household.
    query = "query Household($id: ID!) { node(id: $id) { __typename ... on Household { number } } }"
    body = await seeded.gql(TESTER, query, {"id": visit})
    assert body == {"data": {"node": {"__typename": "Visit"}}}
    assert await seeded.gql(TESTER, AREAS_UNDER, {"under": visit}) == {"data": {"areas": []}}


GARBAGE_IDS = [
    "!!!",
    "",
    " ",
    "Zm9v",  # "foo"
    "Household:1",
    _b64("Household:"),
    _b64("Household:abc"),
    _b64("Household:-1"),
    _b64("Household:+1"),
    _b64("Household:0"),
    _b64("Household: 1"),
    _b64("Household:1 "),
    _b64("Household:1.0"),
    _b64(f"Household:{2**31}"),
    _b64(f"Household:{10**30}"),
    _b64("Household:1:1"),
    _b64("Nope:1"),
    base64.b64encode(b"\xff\xfe:1").decode(),
    # "\x00" is refused with the whole request: test_nul_characters_in_variables_refuse_the_request
    "长" * 100,
]


async def test_a_garbage_id_names_nothing(world: World, subtests: pytest.Subtests) -> None:
    for garbage in GARBAGE_IDS:
        with subtests.test(id=garbage):
            body = await world.gql(
                TESTER, RECORD_VISIT, {"input": _visit(world, householdId=garbage)}
            )
            assert body["data"] == _refused_visit("UNKNOWN_HOUSEHOLD", "householdId")
            assert await world.gql(TESTER, NODE, {"id": garbage}) == {"data": {"node": None}}
            found = await world.gql(TESTER, NODES, {"ids": [garbage, garbage]})
            assert found == {"data": {"nodes": [None, None]}}
            assert await world.gql(TESTER, AREAS_UNDER, {"under": garbage}) == {
                "data": {"areas": []}
            }


async def _visit_to(world: World, household_ids: list[str]) -> list[str]:
    """Problems with recordVisit for each household id, expected to name nothing."""
    problems = []
    for value in household_ids:
        body = {"query": RECORD_VISIT, "variables": {"input": _visit(world, householdId=value)}}
        response = await world.post(TESTER, body)
        try:
            found = handled(response, body)
            assert found["data"] == _refused_visit("UNKNOWN_HOUSEHOLD", "householdId"), found
        except AssertionError as error:
            problems.append(f"{base64.b64decode(value).decode()}: {error}")
    return problems


async def test_an_id_with_a_superscript_digit_names_nothing(world: World) -> None:
    problems = await _visit_to(world, [_b64("Household:²"), _b64("Household:1²")])
    assert not problems, "\n".join(problems)


async def test_an_id_with_non_ascii_digits_names_nothing(world: World) -> None:
    problems = await _visit_to(world, [_b64(f"Household:{digit}") for digit in "１١𝟏१"])
    assert not problems, "\n".join(problems)


# -- ids outside the caller's scope -----------------------------------------------------------

MISSING = 999_999


def _strip(body: object, values: list[str]) -> object:
    """The body with each of ``values`` replaced by a placeholder, to compare two answers."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    for value in values:
        text = text.replace(json.dumps(value)[1:-1], "<id>")
    return json.loads(text)


def _fill(value: object, replacements: dict[str, str]) -> object:
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, list):
        return [_fill(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, replacements) for key, item in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class ScopeCase:
    """A request about one id (``{id}``), made with an outside-scope id and a missing one."""

    name: str
    type_name: str
    row: str  # a Tree attribute or a key of World.ids: the row outside the caller's scope
    query: str
    variables: dict[str, Any]


def _input_case(
    name: str, type_name: str, row: str, mutation: str, payload: str, **fields: Any
) -> ScopeCase:
    """A case of a mutation taking ``input``, whose payload's object is ``payload``."""
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    if mutation in ("resolveLedgerItemOnTheSpot", "completeLedgerItem"):
        input_type = "LedgerItemActionInput"
    query = f"""
    mutation Scope($input: {input_type}!) {{
      {mutation}(input: $input) {{
        {payload} {{ id }} errors {{ ... on UserError {{ code field message }} }}
      }}
    }}"""
    variables = {"input": {"idempotencyKey": "{key}", **fields}}
    return ScopeCase(name, type_name, row, query, variables)


ITEM = {
    "ledger": "livelihood",
    "category": "road",
    "title": "t",
    "receivedOn": "2014-01-10",
    "receivedById": "{cadre}",
}
ACTION = {"itemId": "{item}", "actorId": "{cadre}"}
HOUSEHOLD_VISITS = """
query Visits($id: ID!) { node(id: $id) { ... on Household { visits { edges { cursor } } } } }"""
CAN = 'query Can($area: ID) { me { can(action: "visit.write", area: $area) } }'
SCOPE_CASES = [
    *[
        ScopeCase(f"node {type_name}", type_name, row, NODE, {"id": "{id}"})
        for type_name, row in [
            ("Household", "other_household_id"),
            ("Area", "other_group_id"),
            ("Visit", "other_visit"),
            ("Meeting", "other_meeting"),
            ("Suggestion", "other_suggestion"),
            ("LedgerItem", "other_item"),
        ]
    ],
    ScopeCase("nodes", "Household", "other_household_id", NODES, {"ids": ["{id}"]}),
    ScopeCase("areas under", "Area", "other_group_id", AREAS_UNDER, {"under": "{id}"}),
    ScopeCase("me.can at area", "Area", "other_group_id", CAN, {"area": "{id}"}),
    ScopeCase("visits of", "Household", "other_household_id", HOUSEHOLD_VISITS, {"id": "{id}"}),
    _input_case(
        "recordVisit householdId", "Household", "other_household_id", "recordVisit", "visit",
        householdId="{id}", cadreId="{cadre}", visitedOn="2014-01-10",
    ),
    _input_case(
        "recordMeeting areaId", "Area", "other_group_id", "recordMeeting", "meeting",
        areaId="{id}", heldOn="2014-01-10", hostCadreId="{cadre}", attendeeCount=3, topic="t",
    ),
    _input_case(
        "addSuggestion meetingId", "Meeting", "other_meeting", "addSuggestion", "suggestion",
        meetingId="{id}", content="c",
    ),
    _input_case(
        "addSuggestion householdId", "Household", "other_household_id", "addSuggestion",
        "suggestion", meetingId="{meeting}", content="c", householdId="{id}",
    ),
    _input_case(
        "recordLedgerItem areaId", "Area", "other_group_id", "recordLedgerItem", "item",
        areaId="{id}", **ITEM,
    ),
    _input_case(
        "recordLedgerItem householdId", "Household", "other_household_id", "recordLedgerItem",
        "item", areaId="{village}", householdId="{id}", **ITEM,
    ),
    _input_case(
        "recordLedgerItem sourceVisitId", "Visit", "other_visit", "recordLedgerItem", "item",
        areaId="{village}", sourceVisitId="{id}", **ITEM,
    ),
    _input_case(
        "recordLedgerItem sourceMeetingId", "Meeting", "other_meeting", "recordLedgerItem",
        "item", areaId="{village}", sourceMeetingId="{id}", **ITEM,
    ),
    _input_case(
        "assignLedgerItem itemId", "LedgerItem", "other_item", "assignLedgerItem", "item",
        itemId="{id}", actorId="{cadre}", responsibleId="{cadre}", method="m",
    ),
    _input_case(
        "resolveLedgerItemOnTheSpot itemId", "LedgerItem", "other_item",
        "resolveLedgerItemOnTheSpot", "item", itemId="{id}", actorId="{cadre}",
    ),
    _input_case(
        "assignLedgerItem responsibleId", "Cadre", "other_cadre_id", "assignLedgerItem", "item",
        responsibleId="{id}", method="m", **ACTION,
    ),
]  # fmt: skip
ESCALATION = _input_case(
    "escalateLedgerItem toAreaId", "Area", "other_group_id", "escalateLedgerItem", "item",
    toAreaId="{id}", **ACTION,
)  # fmt: skip


async def _outside_and_missing(world: World, case: ScopeCase) -> list[object]:
    """The answers to ``case`` with the outside-scope id and with a missing one, ids stripped."""
    tree = world.tree
    if case.row in world.ids:
        outside = world.ids[case.row]
    else:
        outside = global_id(case.type_name, getattr(tree, case.row))
    # The row is there: someone who may see it finds it.
    seen = await world.gql(TESTER, NODE, {"id": outside})
    assert seen["data"]["node"] is not None, (case.name, seen)
    answers = []
    for n, value in enumerate([outside, global_id(case.type_name, MISSING)]):
        key = f"scope-key-{case.name.replace(' ', '-')}-{n}"
        replacements = {
            "{id}": value,
            "{key}": key,
            "{cadre}": global_id("Cadre", tree.cadre_id),
            "{village}": global_id("Area", tree.village_id),
            "{item}": world.ids["item"],
            "{meeting}": world.ids["meeting"],
        }
        variables = _fill(case.variables, replacements)
        assert isinstance(variables, dict)
        body = await world.gql(SCOPED, case.query, variables)
        answers.append(_strip(body, [value, key]))
    return answers


async def test_an_id_outside_the_callers_scope_answers_like_a_missing_one(
    seeded: World, subtests: pytest.Subtests
) -> None:
    for case in SCOPE_CASES:
        with subtests.test(case.name):
            outside, missing = await _outside_and_missing(seeded, case)
            assert outside == missing


async def test_an_escalation_target_outside_the_callers_scope_answers_like_a_missing_one(
    seeded: World,
) -> None:
    outside, missing = await _outside_and_missing(seeded, ESCALATION)
    assert outside == missing


async def test_a_code_outside_the_callers_scope_answers_like_a_missing_one(world: World) -> None:
    query = "query Area($code: String!) { area(code: $code) { id name } }"
    outside = await world.gql(SCOPED, query, {"code": "519902101002"})
    missing = await world.gql(SCOPED, query, {"code": "519902101999"})
    assert outside == missing == {"data": {"area": None}}
    inside = await world.gql(SCOPED, query, {"code": "519902101001"})
    assert inside["data"]["area"] is not None


async def test_an_action_naming_no_object_is_never_allowed(world: World) -> None:
    """`ledger.*` matches any ledger in the policy; an action must name a real one."""
    query = "query Q($a: String!) { me { can(action: $a) } }"
    for action in ("ledger.nope.read", "ledger..read", "ledger.*.read", "nothing.read"):
        assert await world.gql(TESTER, query, {"a": action}) == {"data": {"me": {"can": False}}}
    assert await world.gql(TESTER, query, {"a": "ledger.stability.read"}) == {
        "data": {"me": {"can": True}}
    }
