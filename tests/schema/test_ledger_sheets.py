"""Excel in and out: the template, a round trip, CSV, and bad files that write nothing."""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import LedgerItem, LedgerItemEvent
from resolvers.ledgers.sheets import COLUMNS, write_xlsx
from tests.helpers import Tree, global_id, gql, make_tree
from tests.schema.ledger_api import act, item_input, record_item

IMPORT = """
mutation ($i: ImportLedgerInput!) { importLedger(input: $i) {
  imported replayed
  rowErrors { row column message }
  errors { __typename ... on UserError { field message } }
} }
"""
HEADERS = [column.header for column in COLUMNS]


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


def sheet_rows(content: bytes) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return rows


async def import_file(
    client: httpx.AsyncClient,
    tree: Tree,
    content: bytes,
    name: str = "ledger.xlsx",
    key: str = "import-0001",
) -> dict[str, Any]:
    values = {
        "villageId": global_id("Area", tree.village_id),
        "fileName": name,
        "content": base64.b64encode(content).decode(),
        "idempotencyKey": key,
    }
    result: dict[str, Any] = (await gql(client, IMPORT, {"i": values}))["importLedger"]
    return result


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessionmaker() as session:
        items = await session.scalar(select(func.count()).select_from(LedgerItem))
        events = await session.scalar(select(func.count()).select_from(LedgerItemEvent))
    return items or 0, events or 0


async def test_template_has_the_columns_and_drop_downs(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    response = await client.get("/ledgers/template.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["台账"]
    assert [cell.value for cell in sheet[1]] == HEADERS
    lists = [v.formula1 for v in sheet.data_validations.dataValidation]
    assert any("livelihood" in f and "stability" in f for f in lists)
    assert "说明" in book.sheetnames
    csv_template = await client.get("/ledgers/template.csv")
    assert next(csv.reader(io.StringIO(csv_template.content.decode("utf-8-sig")))) == HEADERS


async def test_export_then_import_round_trips(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # Items in several states, at the village and at a group, with a household.
    await record_item(client, item_input(tree, householdId=None))
    group_item = await record_item(
        client,
        item_input(
            tree,
            ledger="hardship",
            category=None,
            reasons=["illness", "family_change"],
            areaId=global_id("Area", tree.group_id),
        ),
    )
    planned = await record_item(client, item_input(tree, category="road"))
    await act(client, tree, "assign", planned["item"]["id"])
    await act(client, tree, "make_plan", planned["item"]["id"])
    closed = await record_item(client, item_input(tree, category="gas"))
    await act(client, tree, "decline", closed["item"]["id"])
    await act(client, tree, "rate", closed["item"]["id"], satisfaction="BASICALLY_SATISFIED")
    assert group_item["errors"] == []

    exported = await client.get("/ledgers/export.xlsx", params={"area": "519902101001"})
    assert exported.status_code == 200
    first = sheet_rows(exported.content)
    assert first[0] == tuple(HEADERS) and len(first) == 5

    result = await import_file(client, tree, exported.content)
    assert result == {"imported": 4, "replayed": False, "rowErrors": [], "errors": []}

    again = sheet_rows(
        (await client.get("/ledgers/export.xlsx", params={"area": "519902101001"})).content
    )
    assert Counter(again[1:]) == Counter(first[1:] * 2)
    # The imported copies start their history with one IMPORT line each.
    assert await counts(sessionmaker) == (8, 1 + 1 + 3 + 3 + 4)


async def test_csv_import(client: httpx.AsyncClient, tree: Tree) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["ledger", "category", "area_code", "group", "title", "received_on", "received_by"]
    )
    writer.writerow(["livelihood", "road", "519902101001", "一组", "修路", "2014/2/3", "李四"])
    result = await import_file(client, tree, buffer.getvalue().encode("utf-8-sig"), name="x.csv")
    assert result["imported"] == 1 and result["rowErrors"] == []


def _row(**values: Any) -> list[Any]:
    base = {
        "ledger": "livelihood",
        "category": "water",
        "area_code": "519902101001",
        "title": "饮水",
        "received_on": "2014-01-23",
        "received_by": "李四",
    }
    base.update(values)
    return [base.get(column.key, "") for column in COLUMNS]


async def test_a_bad_file_writes_nothing_and_names_every_bad_cell(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    content = write_xlsx(
        [
            _row(),  # row 2: good
            _row(ledger="stability", category="no_such"),  # row 3
            _row(area_code="519902101002"),  # row 4: the neighbouring village
            _row(received_on="2014-02-30", received_by="无名氏"),  # row 5
            _row(group="九组"),  # row 6
            _row(status="resolved"),  # row 7: closed without date or resolution
            _row(ledger="key_work", category="other"),  # row 8: a department ledger
            _row(title="另一件"),  # row 9: good (row 2 again would be a duplicate)
        ]
    )
    result = await import_file(client, tree, content)
    assert result["imported"] == 0 and result["errors"] == []
    found = {(e["row"], e["column"]) for e in result["rowErrors"]}
    assert found == {
        (3, "category"),
        (4, "area_code"),
        (5, "received_on"),
        (5, "received_by"),
        (6, "group"),
        (7, "closed_on"),
        (7, "resolution"),
        (8, "ledger"),
    }
    assert all(e["message"] for e in result["rowErrors"])
    assert await counts(sessionmaker) == (0, 0)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"not a zip", "x.xlsx", "not a readable XLSX"),
        (b"", "x.csv", "empty"),
        ("标题\n1\n".encode(), "x.csv", "missing columns"),
        (b"\xff\xfe", "x.csv", "not UTF-8"),
        (b"a,b", "x.txt", ".xlsx or .csv"),
    ],
)
async def test_unreadable_files(
    client: httpx.AsyncClient, tree: Tree, content: bytes, name: str, message: str
) -> None:
    result = await import_file(client, tree, content, name=name)
    assert result["errors"][0]["__typename"] == "InvalidFile"
    assert message in result["errors"][0]["message"]


async def test_import_only_into_a_village(client: httpx.AsyncClient, tree: Tree) -> None:
    values = {
        "villageId": global_id("Area", tree.township_id),
        "fileName": "x.xlsx",
        "content": base64.b64encode(write_xlsx([_row()])).decode(),
        "idempotencyKey": "import-0002",
    }
    result = (await gql(client, IMPORT, {"i": values}))["importLedger"]
    assert [e["__typename"] for e in result["errors"]] == ["WrongAreaLevel"]


async def test_the_same_import_twice_writes_once(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    content = write_xlsx([_row(), _row(category="road")])
    first = await import_file(client, tree, content, key="import-twice")
    again = await import_file(client, tree, content, key="import-twice")
    assert (first["imported"], again["imported"], again["replayed"]) == (2, 2, True)
    assert await counts(sessionmaker) == (2, 2)


async def test_export_filters_and_bad_parameters(client: httpx.AsyncClient, tree: Tree) -> None:
    await record_item(client, item_input(tree))
    road = await client.get(
        "/ledgers/export.xlsx", params={"area": "519902101001", "category": "road"}
    )
    assert len(sheet_rows(road.content)) == 1
    assert (await client.get("/ledgers/export.xlsx", params={"area": "000"})).status_code == 404
    bad = await client.get("/ledgers/export.xlsx", params={"area": "519902", "asOf": "tomorrow"})
    assert bad.status_code == 400 and "asOf" in bad.json()["error"]
