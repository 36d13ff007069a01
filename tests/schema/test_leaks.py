"""The leak suite: a township cadre and a village cadre try every way to the
restricted ledgers (stability, petitions) that sit inside their own area, and
find nothing — not a row, an id, a count, a name, a category or an error that
differs from the one a thing that does not exist gets."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from tests.conftest import token_for
from tests.helpers import Tree, global_id, grant, make_tree
from tests.schema.ledger_api import item_input, record_item


@pytest.fixture
async def world(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    """As the county leader: a livelihood, a stability and a petition item in the village."""
    tree = await make_tree(sessionmaker)
    livelihood = await record_item(client, item_input(tree))
    stability = await record_item(
        client, item_input(tree, ledger="stability", category="land_acquisition")
    )
    petition = await record_item(
        client,
        item_input(
            tree,
            ledger="petition",
            category="land_acquisition",
            areaId=global_id("Area", tree.group_id),
            householdId=None,
            departmentId=global_id("Department", tree.department_id),
        ),
    )
    for payload in (livelihood, stability, petition):
        assert payload["errors"] == [], payload
    return {
        "tree": tree,
        "livelihood": livelihood["item"]["id"],
        "stability": stability["item"]["id"],
        "petition": petition["item"]["id"],
        "missing": global_id("LedgerItem", 999_999),
    }


VIEWERS = {"township_cadre": "township_id", "village_cadre": "village_id"}


@pytest.fixture(params=list(VIEWERS))
async def viewer(
    request: pytest.FixtureRequest,
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: dict[str, Any],
) -> AsyncIterator[httpx.AsyncClient]:
    role = request.param
    tree: Tree = world["tree"]
    await grant(sessionmaker, role, role, getattr(tree, VIEWERS[role]))
    headers = {"authorization": f"Bearer {token_for(settings, role)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        yield http


async def post(http: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    return response.json()


def same_shape(body: Any, secret: str, other: Any, missing: str) -> bool:
    """Whether two answers are the same once the asked-for names are swapped."""
    return str(body).replace(secret, "<>") == str(other).replace(missing, "<>")


async def test_catalog_names_no_restricted_ledger(viewer: httpx.AsyncClient) -> None:
    body = await post(viewer, "{ ledgerCatalog { key name categories { key } } }", {})
    keys = {kind["key"] for kind in body["data"]["ledgerCatalog"]}
    assert keys == {"livelihood", "hardship"}
    text = str(body)
    assert "stability" not in text and "petition" not in text and "land_acquisition" not in text


NODE = """
query ($id: ID!) { node(id: $id) { __typename id ... on LedgerItem { ledger title } } }
"""


@pytest.mark.parametrize("kind", ["stability", "petition"])
async def test_node_of_a_restricted_item_looks_missing(
    viewer: httpx.AsyncClient, world: dict[str, Any], kind: str
) -> None:
    hidden = await post(viewer, NODE, {"id": world[kind]})
    missing = await post(viewer, NODE, {"id": world["missing"]})
    assert hidden == missing == {"data": {"node": None}}
    seen = await post(viewer, NODE, {"id": world["livelihood"]})
    assert seen["data"]["node"]["ledger"] == "livelihood"


async def test_aliases_fragments_and_nodes_find_nothing(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    query = """
    query ($s: ID!, $p: ID!) {
      a: node(id: $s) { ...Item }
      b: node(id: $p) { ... on Node { id } ...Item }
      c: nodes(ids: [$s, $p]) { ...Item }
    }
    fragment Item on LedgerItem { id ledger category title status history { note } }
    """
    body = await post(viewer, query, {"s": world["stability"], "p": world["petition"]})
    assert body == {"data": {"a": None, "b": None, "c": [None, None]}}


LEDGER = """
query ($area: ID!, $filter: LedgerItemFilter) { node(id: $area) { ... on Area {
  ledgerItems(filter: $filter, first: 100) { totalCount partial edges { node { id ledger } } }
  ledgerMatrix(filter: $filter) { ledger category status count }
} } }
"""


async def test_lists_totals_and_matrix_count_only_what_is_visible(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    for area in ("county_id", "township_id", "village_id", "group_id"):
        area_id = global_id("Area", getattr(world["tree"], area))
        body = await post(viewer, LEDGER, {"area": area_id})
        node = body["data"]["node"]
        if node is None:  # above the viewer's reach: the area itself is invisible
            continue
        items = node["ledgerItems"]
        assert {e["node"]["ledger"] for e in items["edges"]} <= {"livelihood"}
        assert items["totalCount"] == len(items["edges"])
        assert sum(cell["count"] for cell in node["ledgerMatrix"]) == items["totalCount"]
        assert items["partial"] is False
        assert "stability" not in str(body) and "petition" not in str(body)


@pytest.mark.parametrize(
    ("flt", "secret", "missing"),
    [
        ({"ledgers": ["stability"]}, "stability", "nosuch"),
        ({"ledgers": ["petition"]}, "petition", "nosuch"),
        ({"categories": ["land_acquisition"]}, "land_acquisition", "nosuch"),
    ],
)
async def test_filter_values_of_restricted_ledgers_are_unknown_values(
    viewer: httpx.AsyncClient, world: dict[str, Any], flt: dict[str, Any], secret: str, missing: str
) -> None:
    village = global_id("Area", world["tree"].village_id)
    hidden = await post(viewer, LEDGER, {"area": village, "filter": flt})
    unknown_filter = {key: [missing] for key in flt}
    unknown = await post(viewer, LEDGER, {"area": village, "filter": unknown_filter})
    assert hidden["errors"][0]["message"].startswith("unknown")
    assert same_shape(hidden, secret, unknown, missing)


ACT = """
mutation ($i: LedgerItemActionInput!) { resolveLedgerItemOnTheSpot(input: $i) {
  item { id } errors { __typename ... on UserError { code field message } } } }
"""


async def test_acting_on_a_restricted_item_is_acting_on_nothing(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    def values(item_id: str, key: str) -> dict[str, Any]:
        actor = global_id("Cadre", world["tree"].cadre_id)
        return {"i": {"itemId": item_id, "actorId": actor, "idempotencyKey": key}}

    hidden = await post(viewer, ACT, values(world["stability"], "leak-act-1"))
    missing = await post(viewer, ACT, values(world["missing"], "leak-act-2"))
    assert hidden == missing
    assert (
        hidden["data"]["resolveLedgerItemOnTheSpot"]["errors"][0]["code"] == "UNKNOWN_LEDGER_ITEM"
    )


RECORD = """
mutation ($i: RecordLedgerItemInput!) { recordLedgerItem(input: $i) {
  item { id } errors { __typename ... on UserError { code field message } } } }
"""


async def test_recording_into_a_restricted_ledger_is_an_unknown_ledger(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    tree = world["tree"]
    hidden = await post(
        viewer,
        RECORD,
        {
            "i": item_input(
                tree, ledger="stability", category="land_acquisition", idempotencyKey="leak-r-1"
            )
        },
    )
    missing = await post(
        viewer,
        RECORD,
        {
            "i": item_input(
                tree, ledger="nosuch", category="land_acquisition", idempotencyKey="leak-r-2"
            )
        },
    )
    assert hidden == missing
    assert hidden["data"]["recordLedgerItem"]["errors"][0]["code"] == "UNKNOWN_LEDGER"


async def test_export_and_template_hold_no_restricted_rows_or_names(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    code = "519902101001"
    export = await viewer.get("/ledgers/export.xlsx", params={"area": code})
    assert export.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(export.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert [row[0] for row in rows[1:]] == ["livelihood"]
    hidden = await viewer.get("/ledgers/export.xlsx", params={"area": code, "ledger": "stability"})
    missing = await viewer.get("/ledgers/export.xlsx", params={"area": code, "ledger": "nosuch"})
    assert hidden.status_code == missing.status_code == 400
    assert same_shape(hidden.json(), "stability", missing.json(), "nosuch")
    template = await viewer.get("/ledgers/template.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    text = str([v.formula1 for v in book["台账"].data_validations.dataValidation])
    assert "stability" not in text and "land_acquisition" not in text


async def test_importing_restricted_rows_is_importing_unknown_ledgers(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    from resolvers.ledgers.sheets import COLUMNS, write_xlsx

    def sheet(ledger: str) -> str:
        values = {
            "ledger": ledger,
            "category": "land_acquisition",
            "area_code": "519902101001",
            "title": "x",
            "received_on": "2014-01-23",
            "received_by": "李四",
        }
        row = [values.get(column.key, "") for column in COLUMNS]
        return base64.b64encode(write_xlsx([row])).decode()

    query = """mutation ($i: ImportLedgerInput!) { importLedger(input: $i) {
      imported rowErrors { row column message } errors { __typename } } }"""
    village = global_id("Area", world["tree"].village_id)
    answers = []
    for ledger, key in (("stability", "leak-imp-1"), ("nosuch", "leak-imp-2")):
        values = {
            "villageId": village,
            "fileName": "x.xlsx",
            "content": sheet(ledger),
            "idempotencyKey": key,
        }
        answers.append(await post(viewer, query, {"i": values}))
    assert answers[0]["data"]["importLedger"]["imported"] == 0
    assert same_shape(answers[0], "stability", answers[1], "nosuch")


async def test_areas_outside_reach_look_missing(
    viewer: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    body = await post(viewer, "{ me { roles { role } } }", {})
    [grant_of] = body["data"]["me"]["roles"]
    # The county is above both viewers; the neighbouring village beside the village cadre.
    outside = ["519902"] + (["519902101002"] if grant_of["role"] == "village_cadre" else [])
    nowhere = await post(viewer, '{ area(code: "519999101002") { id } }', {})
    for code in outside:
        answer = await post(viewer, "query ($c: String!) { area(code: $c) { id } }", {"c": code})
        assert answer == nowhere == {"data": {"area": None}}
