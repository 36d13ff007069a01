"""Sheets that are not clean text: each bad cell or record is a typed row error.

Every way a CSV or an XLSX can carry what cannot be stored — a cell longer than a
cell may be, malformed CSV quoting, NUL, lone UTF-16 surrogates (escaped as Excel
writes them, or as character references and raw bytes in the XML), bytes that are
not UTF-8 — and rows that repeat another row's item: the import answers row
errors at the right row and column, never a 500, and writes nothing. Other
control characters are text, as the API takes them.
"""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.common.cells import CELL_MAX
from resolvers.ledgers.sheets import COLUMNS, write_xlsx
from tests.helpers import Tree, global_id, gql, gql_raw, make_tree
from tests.schema.test_ledger_sheets import IMPORT, counts

GOOD = {
    "ledger": "livelihood",
    "category": "water",
    "area_code": "519902101001",
    "title": "饮水",
    "received_on": "2014-01-23",
    "received_by": "李四",
}
KEYS = [column.key for column in COLUMNS]


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


def row(**values: str) -> list[str]:
    merged = GOOD | values
    return [merged.get(key, "") for key in KEYS]


def as_csv(rows: list[list[str]], tail: str = "") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([KEYS, *rows])
    return (buffer.getvalue() + tail).encode("utf-8", "surrogatepass")


def as_xlsx(rows: list[list[str]]) -> bytes:
    return write_xlsx(rows)


def patched_xlsx(marker: str, raw: bytes) -> bytes:
    """An XLSX whose sheet XML has ``raw`` where a title said ``marker`` (bytes as given)."""
    source = zipfile.ZipFile(io.BytesIO(write_xlsx([row(), row(title=marker)])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info).replace(marker.encode(), raw))
    return buffer.getvalue()


async def run_import(client: httpx.AsyncClient, tree: Tree, content: bytes, name: str) -> Any:
    values = {
        "villageId": global_id("Area", tree.village_id),
        "fileName": name,
        "content": base64.b64encode(content).decode(),
        "idempotencyKey": f"limits-{name}-{len(content)}",
    }
    body = await gql_raw(client, IMPORT, {"i": values})
    assert "errors" not in body, body["errors"]
    return body["data"]["importLedger"]


TITLES = """{ area(code: "519902101001") { ledgerItems { edges { node { title } } } } }"""
BIG = "长" * (CELL_MAX + 1)
Case = tuple[str, Callable[[], bytes], set[tuple[int, str]], str]
CASES: list[Case] = [
    # a cell over the limit: csv's own limit is 131,072 characters
    ("csv", lambda: as_csv([row(), row(title="长" * 200_000)]), {(3, "title")}, "at most"),
    ("csv", lambda: as_csv([row(), row(ledger=BIG)]), {(3, "ledger")}, "at most"),
    ("xlsx", lambda: as_xlsx([row(), row(description=BIG)]), {(3, "description")}, "at most"),
    # malformed quoting, inside the file and at its end
    ("csv", lambda: as_csv([row()], 'livelihood,"wa"ter\n' + ",".join(row())), {(3, "")}, "CSV"),
    ("csv", lambda: as_csv([row()], 'livelihood,"water'), {(3, "")}, "malformed CSV"),
    # NUL
    ("csv", lambda: as_csv([row(), row(title="a\x00b")]), {(3, "title")}, "NUL"),
    ("xlsx", lambda: as_xlsx([row(), row(title="a\x00b")]), {(3, "title")}, "NUL"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a_x0000_b"), {(3, "title")}, "NUL"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a&#0;b"), {(3, "title")}, "NUL"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a\x00b"), {(3, "title")}, "NUL"),
    # lone surrogates: as Excel escapes them, as XML references, as raw bytes
    ("csv", lambda: as_csv([row(), row(title="a\ud800b")]), {(3, "title")}, "surrogate"),
    ("xlsx", lambda: as_xlsx([row(), row(title="a\ud800b")]), {(3, "title")}, "surrogate"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a_xDC00_b"), {(3, "title")}, "surrogate"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a&#xD800;b"), {(3, "title")}, "surrogate"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a\xed\xa0\x80b"), {(3, "title")}, "surrogate"),
    # bytes that are not UTF-8
    ("csv", lambda: as_csv([row()]) + b"livelihood,\xff\xfe\n", {(3, "category")}, "UTF-8"),
    ("xlsx", lambda: patched_xlsx("MARK", b"a\xffb"), {(3, "title")}, "UTF-8"),
    # rows that repeat another row's item
    ("csv", lambda: as_csv([row(), row(category="road"), row()]), {(4, "")}, "row 2"),
    (
        "xlsx",
        lambda: as_xlsx([row(), row(received_on="2014/1/23", status="received"), row()]),
        {(3, ""), (4, "")},
        "duplicate",
    ),
    (
        "xlsx",  # the same receipt in another state is the same item twice
        lambda: as_xlsx([row(), row(status="assigned", responsible="赵六", method="协调")]),
        {(3, "")},
        "duplicate",
    ),
]


@pytest.mark.parametrize(("kind", "content", "expected", "message"), CASES)
async def test_a_bad_cell_or_record_is_a_row_error_and_writes_nothing(
    client: httpx.AsyncClient,
    tree: Tree,
    sessionmaker: async_sessionmaker[AsyncSession],
    kind: str,
    content: Callable[[], bytes],
    expected: set[tuple[int, str]],
    message: str,
) -> None:
    result = await run_import(client, tree, content(), f"sheet.{kind}")
    assert result["errors"] == [] and result["imported"] == 0, result
    found = {(error["row"], error["column"]) for error in result["rowErrors"]}
    assert expected <= found, result["rowErrors"]
    assert any(message in error["message"] for error in result["rowErrors"]), result
    # Nothing is echoed at length: the message names the problem, not the cell.
    assert all(len(error["message"]) < 200 for error in result["rowErrors"])
    assert await counts(sessionmaker) == (0, 0)


async def test_rows_that_differ_in_the_description_are_two_items(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    content = as_xlsx([row(description="东头"), row(description="西头")])
    result = await run_import(client, tree, content, "two.xlsx")
    assert (result["imported"], result["rowErrors"]) == (2, [])


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("csv", lambda: as_csv([row(title="a\x07b")])),
        ("xlsx", lambda: as_xlsx([row(title="a\x07b")])),  # written as a_x0007_b
        ("xlsx", lambda: patched_xlsx("MARK", b"a&#x7;b")),  # not XML, but what it says is clear
        ("xlsx", lambda: patched_xlsx("MARK", b"a\x07b")),
    ],
)
async def test_other_control_characters_are_text_as_the_api_takes_them(
    client: httpx.AsyncClient, tree: Tree, kind: str, content: Callable[[], bytes]
) -> None:
    result = await run_import(client, tree, content(), f"bell.{kind}")
    assert result["imported"] >= 1 and result["rowErrors"] == [], result
    found = await gql(client, TITLES)
    titles = {e["node"]["title"] for e in found["area"]["ledgerItems"]["edges"]}
    assert "a\x07b" in titles


async def test_a_header_that_is_not_text_is_an_unreadable_file(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    content = ",".join(KEYS).encode() + b"\xff\n" + ",".join(row()).encode()
    result = await run_import(client, tree, content, "head.csv")
    assert [e["__typename"] for e in result["errors"]] == ["InvalidFile"]
    assert "not UTF-8" in result["errors"][0]["message"]


async def test_xml_that_cannot_be_read_is_an_unreadable_file(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    result = await run_import(client, tree, patched_xlsx("MARK", b"<broken"), "x.xlsx")
    assert [e["__typename"] for e in result["errors"]] == ["InvalidFile"]
    assert "not a readable XLSX" in result["errors"][0]["message"]
