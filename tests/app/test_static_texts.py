"""Fixed text names only the ledgers the caller may see.

Every route of the app is asked, as every role of the shipped matrix and as a
user with no grants: templates (every part of the XLSX unzipped), the export, the
reports, GraphiQL, introspection, health and metrics, and the error texts of bad
parameters, bad GraphQL arguments and a sheet with every kind of bad row. A
restricted ledger the caller may not see — its key, its Chinese name, and (when
none is visible) the categories only restricted ledgers have — appears nowhere.
A route added to the app without a line here fails the test.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import graphql
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.routing import Route

from app.demo import seed_saved_queries
from app.settings import Settings
from app.system import system_context
from db.ledgers import CATALOG, RESTRICTED, STABILITY_CATEGORIES, Ledger
from db.queries import access as access_queries
from db.seed import query_files
from resolvers.ledgers.sheets import COLUMNS
from tests.conftest import SHIPPED, token_for
from tests.helpers import Tree, global_id, grant, make_tree
from tests.schema.ledger_api import item_input, record_item

ROLES = sorted({rule.role for rule in SHIPPED})
NOBODY = "no_grants"
VILLAGE = "519902101001"
COUNTY = "519902"
REPORTS = [name for name, _text in query_files()]

Ask = Callable[[httpx.AsyncClient], Any]  # a coroutine giving a response


def _get(path: str, **params: str) -> Ask:
    return lambda http: http.get(path, params=params)


def _post(query: str, variables: dict[str, Any] | None = None) -> Ask:
    return lambda http: http.post("/graphql", json={"query": query, "variables": variables or {}})


def _bad_sheet() -> str:
    """A CSV with one row of each kind of import error (no restricted name in it)."""
    base = {
        "ledger": "livelihood",
        "category": "water",
        "area_code": VILLAGE,
        "title": "饮水",
        "received_on": "2014-01-23",
        "received_by": "李四",
    }
    bad = [
        {"ledger": "nosuch"},
        {"category": "nosuch"},
        {"ledger": "hardship", "category": "", "reasons": "nosuch", "household": "001"},
        {"reasons": "illness"},
        {"area_code": "519902101002"},
        {"group": "九组"},
        {"group": "一组", "household": "999"},
        {"household": "001"},
        {"received_on": "2014-02-30", "received_by": "无名氏"},
        {"status": "nosuch", "resolution": "nosuch", "satisfaction": "nosuch"},
        {"status": "resolved"},
        {"status": "declined"},
        {"status": "assigned", "closed_on": "2014-01-24", "satisfaction": "satisfied"},
        {"status": "planned"},
        {"status": "escalated"},
        {"deadline": "2014-01-01"},
        {"title": "x" * 300},
        {"title": "a\x00b"},
        {},
        {},  # a duplicate of the row before
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.header for column in COLUMNS])
    for change in bad:
        values = base | change
        writer.writerow([values.get(column.key, "") for column in COLUMNS])
    buffer.write('livelihood,"malformed"quote\n')
    return base64.b64encode(buffer.getvalue().encode("utf-8-sig")).decode()


IMPORT = """mutation ($i: ImportLedgerInput!) { importLedger(input: $i) {
  imported rowErrors { row column message } errors { __typename ... on UserError { message } }
} }"""
RECORD = """mutation ($i: RecordLedgerItemInput!) { recordLedgerItem(input: $i) {
  errors { __typename ... on UserError { code field message } } } }"""
ITEMS = """query ($f: LedgerFilter) { area(code: "519902") {
  ledgerItems(filter: $f) { totalCount } ledgerMatrix(filter: $f) { ledger category } } }"""


def requests(tree: Tree) -> dict[str, list[Ask]]:
    """Every route of the app, with the requests that show its fixed texts."""
    village = global_id("Area", tree.village_id)
    record = item_input(tree, idempotencyKey="static-record")
    reports: list[Ask] = [_get("/reports/nosuch.csv"), _get("/reports/households.pdf")]
    for name in REPORTS:
        for fmt in ("csv", "xlsx"):
            path = f"/reports/{name}.{fmt}"
            reports += [_get(path), _get(path, area=VILLAGE), _get(path, area=COUNTY, x="1")]
    return {
        "/": [_get("/")],
        "/healthz": [_get("/healthz")],
        "/readyz": [_get("/readyz")],
        "/metrics": [_get("/metrics")],
        "/graphql": [
            lambda http: http.get("/graphql", headers={"accept": "text/html"}),  # GraphiQL
            _get("/graphql"),
            _get("/graphql", query="{ ledgerCatalog { key name categories { key name } } }"),
            _post(graphql.get_introspection_query(descriptions=True)),
            _post(RECORD, {"i": record | {"ledger": "nosuch"}}),
            _post(RECORD, {"i": record | {"category": "nosuch"}}),
            _post(RECORD, {"i": record | {"reasons": ["illness"]}}),
            _post(ITEMS, {"f": {"ledgers": ["nosuch"]}}),
            _post(ITEMS, {"f": {"categories": ["nosuch"]}}),
            _post(ITEMS, {"f": {}}),
            _post(
                IMPORT,
                {
                    "i": {
                        "villageId": village,
                        "fileName": "bad.csv",
                        "content": _bad_sheet(),
                        "idempotencyKey": "static-import",
                    }
                },
            ),
            _post(
                IMPORT,
                {
                    "i": {
                        "villageId": village,
                        "fileName": "bad.txt",
                        "content": "",
                        "idempotencyKey": "static-import-2",
                    }
                },
            ),
        ],
        "/ledgers/template.xlsx": [_get("/ledgers/template.xlsx")],
        "/ledgers/template.csv": [_get("/ledgers/template.csv")],
        "/ledgers/export.xlsx": [
            _get("/ledgers/export.xlsx"),
            _get("/ledgers/export.xlsx", area=COUNTY),
            _get("/ledgers/export.xlsx", area=VILLAGE),
            _get("/ledgers/export.xlsx", area="000"),
            _get("/ledgers/export.xlsx", area=COUNTY, ledger="nosuch"),
            _get("/ledgers/export.xlsx", area=COUNTY, category="nosuch"),
            _get("/ledgers/export.xlsx", area=COUNTY, status="nosuch"),
            _get("/ledgers/export.xlsx", area=COUNTY, overdue="maybe"),
            _get("/ledgers/export.xlsx", area=COUNTY, asOf="tomorrow"),
        ],
        "/reports/{name}.{format:str}": reports,
    }


def text_of(response: httpx.Response) -> str:
    """Everything a response says: headers, and the body — each part of an XLSX."""
    parts = [f"{key}: {value}" for key, value in response.headers.items()]
    body = response.content
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as book:
            assert book.namelist()
            parts += [book.read(name).decode("utf-8", "replace") for name in book.namelist()]
    else:
        parts.append(body.decode("utf-8", "replace"))
    return "\n".join(parts)


def says(text: str, name: str) -> bool:
    """Whether ``text`` names ``name``: a key as a whole word (``group_petition`` is a
    stability category, not the petition ledger), a Chinese name anywhere."""
    if name.isascii():
        return re.search(rf"(?<![A-Za-z0-9_]){name}(?![A-Za-z0-9_])", text) is not None
    return name in text


def forbidden(visible: set[str]) -> set[str]:
    """The names of the restricted ledgers not in ``visible``, as code and in Chinese."""
    hidden = {ledger for ledger in RESTRICTED if ledger.value not in visible}
    names = {name for ledger in hidden for name in (ledger.value, CATALOG[ledger].name)}
    names |= {name[:2] for name in names if "\u4e00" <= name[0] <= "\u9fff"}  # 涉稳, 信访
    if hidden == RESTRICTED:  # their categories belong to no other ledger
        assert not any(
            set(STABILITY_CATEGORIES) & set(CATALOG[ledger].categories)
            for ledger in Ledger
            if ledger not in RESTRICTED
        )
        names |= set(STABILITY_CATEGORIES) | set(STABILITY_CATEGORIES.values())
    return names


@pytest.fixture
async def tree(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> Tree:
    """The county leader's stability and petition items, the shipped saved queries."""
    found = await make_tree(sessionmaker)
    for values in (
        item_input(found),
        item_input(found, ledger="stability", category="land_acquisition", title="征地纠纷"),
        item_input(
            found,
            ledger="petition",
            category="group_petition",
            householdId=None,
            departmentId=global_id("Department", found.department_id),
            title="群体访",
        ),
    ):
        assert (await record_item(client, values))["errors"] == []
    async with system_context(settings) as context:
        assert not any(pushed.errors for pushed in await seed_saved_queries(context))
    return found


async def caller(username: str, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    if username == NOBODY:
        async with sessionmaker.begin() as session:
            await access_queries.create_user(
                session=session, username=NOBODY, display_name="", cadre_id=None
            )
        return
    department = tree.department_id if username == "department_cadre" else None
    await grant(sessionmaker, username, username, tree.county_id, department)


@pytest.mark.parametrize("username", [*ROLES, NOBODY])
async def test_no_fixed_text_names_a_ledger_the_caller_may_not_see(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
    username: str,
) -> None:
    await caller(username, tree, sessionmaker)
    asks = requests(tree)
    assert {route.path for route in app.routes if isinstance(route, Route)} == set(asks)
    headers = {"authorization": f"Bearer {token_for(settings, username)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as http:
        catalog = await http.post("/graphql", json={"query": "{ ledgerCatalog { key } }"})
        visible = {
            kind["key"] for kind in (catalog.json().get("data") or {}).get("ledgerCatalog", [])
        }
        names = forbidden(visible)
        said: list[tuple[str, str]] = []
        for path, route_asks in asks.items():
            for ask in route_asks:
                response = await ask(http)
                assert response.status_code < 500, (path, response.text[:300])
                said.append((path, text_of(response)))
    leaks = sorted({(path, name) for path, text in said for name in names if says(text, name)})
    assert not leaks, leaks
    if username == "county_leader":
        # The scan sees what it looks for: the leader's template and export name them.
        assert {"stability", "petition"} <= visible
        template = next(text for path, text in said if path == "/ledgers/template.xlsx")
        assert "stability" in template and "historical_legacy" in template
        assert any("群体访" in text for path, text in said if path == "/ledgers/export.xlsx")
