"""Cells of the sheets we write and read: values as inert text, text that is text.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a
formula (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``), and some strip or act on a
leading tab or carriage return: the CSV-injection family. What we write is inert:

- XLSX: every text value is a cell of type string (``t="inlineStr"``), never a
  formula, whatever it starts with; numbers, dates and booleans keep their types.
  Characters XML cannot carry (controls other than tab, line feed and carriage
  return, and carriage returns themselves, which XML turns into line feeds) are
  written as OOXML's ``_xHHHH_`` escapes, as Excel does; reading unescapes them,
  so a value comes back exactly as it went out.
- CSV: a text value that starts with one of those characters (after any
  apostrophes) gets one apostrophe in front, the OWASP defence; reading a CSV
  takes one such apostrophe off again. Text that is a plain number (``-5``,
  ``-2.5``) is not a formula and is left alone, and numbers stay numbers.

Reading refuses what is not text — NUL and lone UTF-16 surrogates (which is what
the bytes of a file that are not UTF-8 become), as the API does — with a message
for the row error, and cells longer than Excel's own limit.
"""

from __future__ import annotations

import re

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CELL_MAX = 32_767  # Excel's limit for one cell's text
_GUARDED = re.compile(r"^'*[=+\-@\t\r]")
_PREFIXED = re.compile(r"^'+[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
# What an XLSX cell cannot carry as itself: XML-illegal controls, and CR (XML reads it as LF).
_UNWRITABLE = re.compile(
    r"[\x00-\x08\x0b\x0c\x0d\x0e-\x1f\ufffe\uffff]|[\ud800-\udfff]|_x(?=[0-9A-Fa-f]{4}_)"
)
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
# What no database can store as text (PostgreSQL refuses NUL, UTF-8 has no surrogates);
# the API refuses the same. Other control characters are text the API takes, and so
# does a sheet (an XLSX carries them escaped).
_NOT_TEXT = re.compile(r"[\x00\ud800-\udfff]")


# -- writing ---------------------------------------------------------------------


def csv_value(value: object) -> object:
    """A CSV cell: text that a spreadsheet would run gets an apostrophe in front."""
    if value is None:
        return ""
    if isinstance(value, str) and _GUARDED.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> Cell | object:
    """An XLSX cell: text always as a string cell (never a formula), escaped as OOXML does."""
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=_escape(value) if _UNWRITABLE.search(value) else value)
    cell.data_type = "s"  # openpyxl makes "=…" a formula and "#N/A" an error otherwise
    return cell


def xlsx_row(sheet: WriteOnlyWorksheet, values: list[object]) -> list[object]:
    return [xlsx_cell(sheet, value) for value in values]


def _escape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "_x":
            return "_x005F_x"  # a literal "_xHHHH_" stays literal (OOXML escapes its "_")
        return f"_x{ord(text):04X}_"

    return _UNWRITABLE.sub(one, value)


# -- reading ---------------------------------------------------------------------


def from_csv(text: str) -> str:
    """A CSV cell's text without the apostrophe ``csv_value`` put in front."""
    return text[1:] if _PREFIXED.match(text) else text


def from_xlsx(text: str) -> str:
    """An XLSX cell's text with OOXML's ``_xHHHH_`` escapes undone (Excel writes them)."""
    if "_x" not in text:
        return text
    unescaped = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    if re.search(r"[\ud800-\udfff]", unescaped):
        # Escaped surrogate pairs are one character; lone surrogates stay (and are refused).
        unescaped = unescaped.encode("utf-16-le", "surrogatepass").decode(
            "utf-16-le", "surrogatepass"
        )
    return unescaped


def problem(text: str) -> str | None:
    """Why a cell's text cannot be stored, or None."""
    if len(text) > CELL_MAX:
        return f"at most {CELL_MAX} characters in a cell"
    found = _NOT_TEXT.search(text)
    if found is None:
        return None
    if found.group(0) == "\x00":
        return "contains a NUL character (U+0000), which is not text"
    code = f"U+{ord(found.group(0)):04X}"
    return f"is not text: a lone surrogate or bytes that are not UTF-8 ({code})"
