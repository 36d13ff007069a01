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
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from resolvers.common import cells


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
# Free text is kept exactly as written (a title may start with a tab); keys, codes,
# names and dates are trimmed.
FREE_TEXT = frozenset({"title", "description", "method", "plan", "escalated_to", "decline_reason"})
ROW = ""  # the column of a row error that is about the whole row
_BRACKETED = re.compile(r"[(（]\s*([a-z_]+)\s*[)）]\s*$")
_BAD_REFERENCE = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));")
_BAD_RAW = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\udc80-\udcff]")
# A CSV cell may be as long as the file; the row check then names it (csv's own limit,
# 131,072 characters, would otherwise fail the whole read).
csv.field_size_limit(2**31 - 1)


class SheetError(Exception):
    """The file cannot be read as a ledger sheet at all (not a per-row problem)."""


@dataclasses.dataclass(frozen=True)
class SheetRow:
    number: int  # as the spreadsheet numbers it: the header is row 1
    values: dict[str, str]
    # Cells that cannot be read as text, by column key (ROW: the whole row), and why.
    problems: dict[str, str] = dataclasses.field(default_factory=dict)


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


def _cell_text(value: object, *, xlsx: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return cells.from_xlsx(value) if xlsx else cells.from_csv(value)
    return str(value)


@dataclasses.dataclass(frozen=True)
class _Raw:
    cells: list[object]
    problem: str | None = None  # the record could not be read (CSV syntax)


def _csv_rows(content: bytes) -> Iterator[_Raw]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Bytes that are not UTF-8 become lone surrogates (U+DC80–U+DCFF): the rows that
        # hold them get row errors; a header that holds them makes the file unreadable.
        text = content.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # The reader goes on at the next line; the file is refused by this row error.
            yield _Raw([], f"malformed CSV near line {reader.line_num}: {error}")
            continue
        yield _Raw(list(record))


class _BadXml(Exception):
    """XML that cannot hold what a cell says: read again, repaired."""


def _xlsx_rows(content: bytes) -> Iterator[_Raw]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ElementTree.ParseError as error:
        raise _BadXml from error
    except Exception as error:  # openpyxl fails in many ways on files that are not XLSX
        raise SheetError("the file is not a readable XLSX workbook") from error
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield _Raw(list(row))
    except ElementTree.ParseError as error:
        raise _BadXml from error
    except Exception as error:
        raise SheetError("the file is not a readable XLSX workbook") from error
    finally:
        book.close()


def _repaired(content: bytes) -> bytes:
    def reference(match: re.Match[bytes]) -> bytes:
        hexa, decimal = match.groups()
        code = int(hexa, 16) if hexa else int(decimal)
        legal = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF
        legal = legal or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
        return match.group(0) if legal else b"_x%04X_" % min(code, 0xFFFF)

    def raw(match: re.Match[str]) -> str:
        return f"_x{ord(match.group(0)):04X}_"

    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".xml"):
                data = _BAD_REFERENCE.sub(reference, data)
                text = _BAD_RAW.sub(raw, data.decode("utf-8", "surrogateescape"))
                data = text.encode("utf-8")
            target.writestr(info, data)
    return buffer.getvalue()


def _raw_rows(content: bytes, file_name: str) -> tuple[Iterator[_Raw], bool]:
    name = file_name.lower()
    if name.endswith(".csv"):
        return _csv_rows(content), False
    if not name.endswith(".xlsx"):
        raise SheetError("the file must be .xlsx or .csv")
    return _xlsx_rows(content), True


def read(content: bytes, file_name: str) -> list[SheetRow]:
    """The sheet's rows as text by column key; blank rows skipped."""
    try:
        return _read(content, file_name)
    except _BadXml:
        pass
    # XML that cannot hold what a cell says (&#0;, a lone surrogate, raw control bytes,
    # bytes that are not UTF-8): read again with those written as OOXML escapes, so that
    # the row with the cell gets a row error.
    try:
        return _read(_repaired(content), file_name)
    except _BadXml as error:
        raise SheetError(f"the file is not a readable XLSX workbook ({error.__cause__})") from error


def _read(content: bytes, file_name: str) -> list[SheetRow]:
    rows, xlsx = _raw_rows(content, file_name)
    header = next(rows, None)
    if header is None:
        raise SheetError("the file is empty")
    header_texts = [_cell_text(cell, xlsx=xlsx) for cell in header.cells]
    why = header.problem or next(filter(None, map(cells.problem, header_texts)), None)
    if why is not None:
        what = "XLSX" if xlsx else "CSV"
        raise SheetError(f"the {what} file's header row is not UTF-8 text: {why}")
    keys = [_header_key(text) for text in header_texts]
    missing = [c.header for c in COLUMNS if c.required and c.key not in keys]
    if missing:
        raise SheetError("missing columns: " + ", ".join(missing))
    found = [key for key in keys if key]
    if len(found) != len(set(found)):
        raise SheetError("a column appears twice")
    result: list[SheetRow] = []
    for number, raw in enumerate(rows, start=2):
        values: dict[str, str] = {}
        problems: dict[str, str] = {}
        if raw.problem:
            problems[ROW] = raw.problem
        for key, cell in zip(keys, raw.cells, strict=False):
            if key is None:
                continue
            text = _cell_text(cell, xlsx=xlsx)
            if (why := cells.problem(text)) is not None:
                problems[key], text = why, ""  # never echoed back, never stored
            values[key] = text if key in FREE_TEXT else text.strip()
        if not problems and not any(value.strip() for value in values.values()):
            continue
        if len(result) >= MAX_ROWS:
            raise SheetError(f"at most {MAX_ROWS} rows per file")
        result.append(SheetRow(number=number, values=values, problems=problems))
    return result


def write_xlsx(rows: Iterable[Sequence[object]], *, title: str = "台账") -> bytes:
    """A workbook with the header row and ``rows`` (values in ``COLUMNS`` order)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append([column.header for column in COLUMNS])
    for row in rows:
        sheet.append(cells.xlsx_row(sheet, list(row)))
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
