"""Text that cannot be stored, on every HTTP input path, on SQLite and PostgreSQL.

NUL (U+0000) cannot be stored or compared by PostgreSQL; a lone UTF-16 surrogate
(U+D800-U+DFFF, which JSON's ``"\\ud800"`` escape makes) is no character at all:
no driver, database or response can encode it. Each is refused with 400, a
``BAD_REQUEST`` code and a message naming it — never answered 200 with an
error, never INTERNAL_SERVER_ERROR, never written.

Every input path is enumerated (``PATHS``) and each is tried with each bad text
(``BAD``): a lone high surrogate, a lone low surrogate, NUL. Text in a JSON body
comes as the JSON escape; in a GraphQL literal also as GraphQL's own escape; in
a URL (path, query string) percent-encoded, a surrogate as the bytes that would
encode it (ED A0 80: not UTF-8); in a header as raw bytes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.demo import seed_saved_queries
from app.settings import Settings
from app.system import system_context
from db.models import AuditEvent, LedgerItem, Visit
from resolvers import saved_queries, saved_query_files
from schema.root import graphql_schema
from tests.conftest import token_for
from tests.helpers import TESTER, Tree, global_id, make_tree


@dataclasses.dataclass(frozen=True)
class Bad:
    name: str
    char: str
    word: str  # what the message must name

    @property
    def utf8(self) -> bytes:
        """The bytes a careless encoder writes for it (a surrogate's are not UTF-8)."""
        return self.char.encode("utf-8", "surrogatepass")

    @property
    def graphql_escape(self) -> str:
        return f"\\u{ord(self.char):04x}"


BAD = [
    Bad("high surrogate", "\ud800", "surrogate"),
    Bad("low surrogate", "\udc00", "surrogate"),
    Bad("NUL", "\x00", "NUL"),
]

AREA = "query Area($code: String!) { area(code: $code) { name } }"
RECORD_VISIT = """
mutation Visit($input: RecordVisitInput!) {
  recordVisit(input: $input) { visit { id } errors { ... on UserError { code } } }
}"""
RECORD_ITEMS = """
mutation Item($input: RecordLedgerItemInput!) {
  recordLedgerItem(input: $input) { item { id } errors { ... on UserError { code } } }
}"""
FILTERED = """query Filtered($filter: LedgerItemFilter) {
  area(code: "519902") { ledgerMatrix(filter: $filter) { count } }
}"""
MATRIX_REPORT = "filtered-matrix"


@dataclasses.dataclass
class World:
    tree: Tree
    http: httpx.AsyncClient
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {token_for(self.settings, TESTER)}"}

    def visit(self, **fields: Any) -> dict[str, Any]:
        return {
            "householdId": global_id("Household", self.tree.household_id),
            "cadreId": global_id("Cadre", self.tree.cadre_id),
            "visitedOn": "2014-01-10",
            "idempotencyKey": "encoding-key-0001",
            **fields,
        }

    async def post_json(self, body: object, **headers: str) -> httpx.Response:
        """POST ``body`` serialised with JSON escapes (``\\ud800``), as a client would."""
        content = json.dumps(body, ensure_ascii=True).encode("ascii")
        headers = {**self.auth, "content-type": "application/json", **headers}
        return await self.http.post("/graphql", content=content, headers=headers)

    async def get(
        self, target: str, headers: list[tuple[bytes, bytes]] | None = None
    ) -> httpx.Response:
        """GET ``target`` (path and query string, already percent-encoded)."""
        request = self.http.build_request("GET", target)
        merged = [(k.encode(), v.encode()) for k, v in self.auth.items()]
        request.headers = httpx.Headers([*merged, *(headers or [])])
        return await self.http.send(request)

    async def headers(self, raw: list[tuple[bytes, bytes]], replace: bool) -> httpx.Response:
        """POST a good query with ``raw`` headers (replacing the credentials if ``replace``)."""
        base = [] if replace else [(k.encode(), v.encode()) for k, v in self.auth.items()]
        content = json.dumps({"query": "{ me { username } }"}).encode()
        request = self.http.build_request("POST", "/graphql", content=content)
        request.headers = httpx.Headers([*base, (b"content-type", b"application/json"), *raw])
        return await self.http.send(request)


@pytest.fixture
async def world(
    app: Starlette, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[World]:
    tree = await make_tree(sessionmaker)
    async with system_context(settings) as context:
        pushed = await seed_saved_queries(context)
        own = saved_query_files.QueryFile(
            name=MATRIX_REPORT, document=FILTERED + "\n", description="t", roles=("county_leader",)
        )
        pushed += await saved_query_files.push(context, graphql_schema(), [own])
    assert not any(p.errors for p in pushed), pushed
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield World(tree=tree, http=http, settings=settings, sessionmaker=sessionmaker)


def _pct(raw: bytes) -> str:
    return quote_from_bytes(raw, safe="")


def _sha(text: str) -> str:
    return saved_queries.sha256_of(text)


Send = Callable[[World, Bad], Awaitable[httpx.Response]]

# Every HTTP input path: how to put a bad text there.
PATHS: dict[str, Send] = {
    # -- POST, JSON body
    "POST query, in a literal (JSON escape)": lambda w, b: w.post_json(
        {"query": f'{{ area(code: "x{b.char}y") {{ name }} }}'}
    ),
    "POST query, in a literal (GraphQL escape)": lambda w, b: w.post_json(
        {"query": f'{{ area(code: "x{b.graphql_escape}y") {{ name }} }}'}
    ),
    "POST query, in a mutation's literal (GraphQL escape)": lambda w, b: w.post_json(
        {
            "query": RECORD_VISIT.replace("$input: RecordVisitInput!", "$h: ID!").replace(
                "input: $input",
                f'input: {{householdId: $h, cadreId: "{global_id("Cadre", w.tree.cadre_id)}", '
                f'visitedOn: "2014-01-10", notes: "a{b.graphql_escape}b", '
                'idempotencyKey: "encoding-key-0002"}',
            ),
            "variables": {"h": global_id("Household", w.tree.household_id)},
        }
    ),
    "POST query, outside a literal": lambda w, b: w.post_json(
        {"query": f"{{ me {{ username }} }} # {b.char}"}
    ),
    "POST variables, top level": lambda w, b: w.post_json(
        {"query": AREA, "variables": {"code": f"x{b.char}y"}}
    ),
    "POST variables, in an input object": lambda w, b: w.post_json(
        {"query": RECORD_VISIT, "variables": {"input": w.visit(notes=f"a{b.char}b")}}
    ),
    "POST variables, in a list": lambda w, b: w.post_json(
        {
            "query": RECORD_ITEMS,
            "variables": {
                "input": {
                    "ledger": "hardship",
                    "category": "illness",
                    "reasons": ["illness", f"x{b.char}"],
                    "title": "t",
                    "receivedOn": "2014-01-10",
                    "receivedById": global_id("Cadre", w.tree.cadre_id),
                    "areaId": global_id("Area", w.tree.village_id),
                    "idempotencyKey": "encoding-key-0003",
                }
            },
        }
    ),
    "POST variables, a key": lambda w, b: w.post_json(
        {"query": AREA, "variables": {"code": "519902", f"k{b.char}": 1}}
    ),
    "POST operationName": lambda w, b: w.post_json({"query": AREA, "operationName": f"A{b.char}"}),
    "POST extensions": lambda w, b: w.post_json(
        {"query": AREA, "variables": {"code": "1"}, "extensions": {"note": f"x{b.char}"}}
    ),
    "POST extensions, persisted query hash": lambda w, b: w.post_json(
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": f"{b.char}" * 64}}}
    ),
    "POST documentId": lambda w, b: w.post_json({"documentId": f"sha256:{b.char}"}),
    # -- GET /graphql, query string
    "GET query, percent-encoded": lambda w, b: w.get(
        "/graphql?query=" + _pct(b'{ area(code: "x' + b.utf8 + b'") { name } }')
    ),
    "GET query, in a literal (GraphQL escape)": lambda w, b: w.get(
        "/graphql?query=" + _pct(f'{{ area(code: "x{b.graphql_escape}") {{ name }} }}'.encode())
    ),
    "GET variables (JSON escape)": lambda w, b: w.get(
        f"/graphql?query={_pct(AREA.encode())}&variables="
        + _pct(json.dumps({"code": f"x{b.char}"}).encode())
    ),
    "GET variables, percent-encoded": lambda w, b: w.get(
        f"/graphql?query={_pct(AREA.encode())}&variables=" + _pct(b'{"code": "x' + b.utf8 + b'"}')
    ),
    "GET operationName": lambda w, b: w.get(
        f"/graphql?query={_pct(AREA.encode())}&operationName={_pct(b'A' + b.utf8)}"
    ),
    "GET extensions (JSON escape)": lambda w, b: w.get(
        f"/graphql?query={_pct(AREA.encode())}&extensions="
        + _pct(json.dumps({"x": f"{b.char}"}).encode())
    ),
    "GET documentId": lambda w, b: w.get(f"/graphql?documentId={_pct(b'sha256:' + b.utf8)}"),
    "GET a parameter's name": lambda w, b: w.get(f"/graphql?{_pct(b'q' + b.utf8)}=1"),
    # -- reports and files
    "GET report parameter": lambda w, b: w.get(
        f"/reports/households.csv?area={_pct(b'519902' + b.utf8)}"
    ),
    "GET report parameter, an input object (JSON escape)": lambda w, b: w.get(
        f"/reports/{MATRIX_REPORT}.csv?filter="
        + _pct(json.dumps({"ledgers": [f"x{b.char}"]}).encode())
    ),
    "GET report name (the path)": lambda w, b: w.get(f"/reports/{_pct(b'h' + b.utf8)}.csv"),
    "GET export area": lambda w, b: w.get(f"/ledgers/export.xlsx?area={_pct(b'5199' + b.utf8)}"),
    "GET export ledger": lambda w, b: w.get(
        f"/ledgers/export.xlsx?area=519902&ledger={_pct(b'l' + b.utf8)}"
    ),
    "GET export asOf": lambda w, b: w.get(
        f"/ledgers/export.xlsx?area=519902&asOf={_pct(b'2014-01-01' + b.utf8)}"
    ),
    # -- headers that carry text
    "header Authorization": lambda w, b: w.headers(
        [(b"authorization", b"Bearer " + b.utf8)], replace=True
    ),
    "header X-API-Key": lambda w, b: w.headers(
        [(b"x-api-key", b"gr_ab" + b.utf8 + b"_secret")], replace=True
    ),
    "header X-Request-Id": lambda w, b: w.headers(
        [(b"x-request-id", b"request-" + b.utf8 + b"-id")], replace=False
    ),
    "header Accept": lambda w, b: w.headers([(b"accept", b"application/json" + b.utf8)], False),
    "header Content-Type": lambda w, b: w.headers(
        [(b"content-type", b"application/json; charset=" + b.utf8)], replace=False
    ),
}


def _refused(response: httpx.Response, bad: Bad, where: str) -> None:
    text = f"{where} × {bad.name}: {response.status_code} {response.text[:500]}"
    assert response.status_code == 400, text
    body = response.json()
    assert "data" not in body, text
    if "error" in body:  # a report's own error shape: {"error": message}
        assert bad.word in body["error"], text
        return
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST", text
    assert bad.word in error["message"], text


async def test_text_that_cannot_be_stored_is_refused_on_every_input_path(
    world: World, subtests: pytest.Subtests
) -> None:
    before = await _counts(world)
    for where, send in PATHS.items():
        for bad in BAD:
            with subtests.test(path=where, text=bad.name):
                _refused(await send(world, bad), bad, where)
    assert await _counts(world) == before  # nothing written, not even an audit line


async def _counts(world: World) -> list[int | None]:
    async with world.sessionmaker() as session:
        return [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Visit, LedgerItem, AuditEvent)
        ]


async def test_good_text_still_passes_every_check(world: World) -> None:
    """The checks refuse only what they name: a surrogate pair (an emoji), CJK text,
    escapes in block strings, and a non-ASCII value in a header nobody reads."""
    body = (await world.post_json({"query": AREA, "variables": {"code": "😀测试"}})).json()
    assert body == {"data": {"area": None}}
    document = '{ area(code: "\\ud83d\\ude00") { name } a: area(code: """\\u0000""") { name } }'
    response = await world.post_json({"query": document})
    assert response.status_code == 200 and response.json() == {"data": {"area": None, "a": None}}
    response = await world.headers([(b"user-agent", "客户端".encode())], replace=False)
    assert response.status_code == 200, response.text
    response = await world.get("/reports/households.csv?area=" + _pct("五一".encode()))
    assert response.status_code == 200, response.text


async def test_a_nul_literal_is_400_whatever_the_client_accepts(world: World) -> None:
    """The README's promise, for application/json clients too (not only graphql-response)."""
    for accept in ("application/json", "application/graphql-response+json", "*/*"):
        for bad in BAD:
            response = await world.post_json(
                {"query": f'{{ area(code: "{bad.graphql_escape}") {{ name }} }}'}, accept=accept
            )
            _refused(response, bad, f"literal, Accept {accept}")
