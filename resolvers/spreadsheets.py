"""The village ledger sheet: one column layout for the template, import and export.

Village offices keep their ledgers in Excel. A sheet has one header row, then
one item per row. Headers are matched by the key in brackets (``台账 (ledger)``
or just ``ledger``), so a user may reorder columns or drop optional ones.
XLSX (the first worksheet) and CSV (UTF-8, with or without BOM) are read.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool
    help: str

    @property
    def header(self) -> str:
        return f"{self.label} ({self.key})"


COLUMNS: tuple[Column, ...] = (
    # The ledgers a caller may use are the template's drop-down list, which names only
    # those the caller may see: no fixed text here names a ledger.
    Column("ledger", "台账", True, "a village ledger's key"),
    Column("category", "类别", False, "a category key of the ledger; needy people: main reason"),
    Column("reasons", "困难原因", False, "needy people: reason keys separated by commas"),
    Column("area_code", "村(社区)代码", True, "the 12-digit code of the village or community"),
    Column("group", "组", False, "the group's name inside the village, e.g. 三组"),
    Column("household", "户号", False, "the household's number inside its group"),
    Column(
        "household_group",
        "户所在组",
        False,
        "the household's group, when the item is held at the village (blank: the group column)",
    ),
    Column("title", "事项", True, "what the item is, at most 200 characters"),
    Column("description", "详情", False, "details"),
    Column("received_on", "受理日期", True, "the date it was received, e.g. 2014-01-23"),
    Column("received_by", "受理人", True, "the receiving cadre's name (首问责任人)"),
    Column("responsible", "责任人", False, "the responsible cadre's name"),
    Column("method", "办理方式", False, "how it is handled"),
    Column("plan", "处理方案", False, "the handling plan"),
    Column("deadline", "办结时限", False, "blank: 10 working days after receipt"),
    Column(
        "status",
        "状态",
        False,
        "received (default), assigned, planned, escalated, resolved, declined",
    ),
    Column(
        "resolution", "办结方式", False, "closed items: on_the_spot, by_plan, policy_does_not_allow"
    ),
    Column("escalated_to", "上报至", False, "the higher body it was reported to"),
    Column("decline_reason", "答复理由", False, "declined items: why policy does not allow it"),
    Column("closed_on", "办结日期", False, "closed items: the date they were closed"),
    Column("satisfaction", "满意度", False, "satisfied, basically_satisfied or dissatisfied"),
)
KEYS = tuple(column.key for column in COLUMNS)
MAX_ROWS = 50_000
_BRACKETED = re.compile(r"[(（]\s*([a-z_]+)\s*[)）]\s*$")


class SheetError(Exception):
    """The file cannot be read as a ledger sheet at all (not a per-row problem)."""


@dataclasses.dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet numbers it: the header is row 1
    values: dict[str, str]


def _header_key(text: str) -> str | None:
    text = text.strip()
    if text in KEYS:
        return text
    found = _BRACKETED.search(text)
    if found and found.group(1) in KEYS:
        return found.group(1)
    for column in COLUMNS:
        if text == column.label:
            return column.key
    return None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _raw_rows(content: bytes, file_name: str) -> Iterator[list[object]]:
    if file_name.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SheetError("the CSV file is not UTF-8 text") from error
        if "\x00" in text:
            raise SheetError("the CSV file contains NUL characters")
        yield from csv.reader(io.StringIO(text))
        return
    if not file_name.lower().endswith(".xlsx"):
        raise SheetError("the file must be .xlsx or .csv")
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise SheetError("the file is not a readable XLSX workbook") from error
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    finally:
        book.close()


def read(content: bytes, file_name: str) -> list[SheetRow]:
    """The sheet's rows as text by column key; blank rows skipped."""
    rows = _raw_rows(content, file_name)
    header = next(rows, None)
    if header is None:
        raise SheetError("the file is empty")
    keys = [_header_key(_cell_text(cell)) for cell in header]
    missing = [c.header for c in COLUMNS if c.required and c.key not in keys]
    if missing:
        raise SheetError("missing columns: " + ", ".join(missing))
    found = [key for key in keys if key]
    if len(found) != len(set(found)):
        raise SheetError("a column appears twice")
    result: list[SheetRow] = []
    for number, raw in enumerate(rows, start=2):
        values = {
            key: _cell_text(cell) for key, cell in zip(keys, raw, strict=False) if key is not None
        }
        if not any(values.values()):
            continue
        if len(result) >= MAX_ROWS:
            raise SheetError(f"at most {MAX_ROWS} rows per file")
        result.append(SheetRow(number=number, values=values))
    return result


def write_xlsx(rows: Iterable[Sequence[object]], *, title: str = "台账") -> bytes:
    """A workbook with the header row and ``rows`` (values in ``COLUMNS`` order)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append([column.header for column in COLUMNS])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_xlsx(choices: dict[str, list[str]]) -> bytes:
    """An empty sheet to fill in: headers, drop-down lists, and a sheet of instructions.

    ``choices`` are the caller's: the only names of ledgers and categories in the file.
    """
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "台账"
    sheet.append([column.header for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(12, len(column.header) + 4)
        options = choices.get(column.key)
        if options:
            validation = DataValidation(
                type="list", formula1='"' + ",".join(options) + '"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")
            sheet.add_data_validation(validation)
    notes = book.create_sheet("说明")
    notes.append(["列 (column)", "必填 (required)", "说明 (meaning)"])
    for column in COLUMNS:
        meaning = column.help
        if column.key in ("ledger", "category") and choices.get(column.key):
            meaning += "; one of: " + ", ".join(choices[column.key])
        notes.append([column.header, "是" if column.required else "", meaning])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_csv() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([column.header for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")
