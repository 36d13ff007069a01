"""Connection arguments: page size within limits, opaque cursors over row ids."""

from __future__ import annotations

import base64
import binascii
import dataclasses

from db.queries.pagination import Page as Page  # the pages resolvers return
from resolvers.context import Context
from resolvers.errors import ArgumentError

_PREFIX = "cursor:"
MAX_ROW_ID = 2**31


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
        if text.startswith(_PREFIX):
            digits = text[len(_PREFIX) :]
            # Row ids are 32-bit: a larger "cursor" was never given out (and would
            # overflow the database's integer parameter).
            if digits.isascii() and digits.isdigit() and int(digits) < MAX_ROW_ID:
                return int(digits)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    raise ArgumentError("`after` is not a cursor this connection gave out")


@dataclasses.dataclass(frozen=True)
class PageRequest:
    after: int | None
    limit: int


def page_request(context: Context, *, first: int | None, after: str | None) -> PageRequest:
    """Check ``first``/``after`` against the configured page size cap."""
    limit = context.default_page_size if first is None else first
    if not 0 <= limit <= context.max_page_size:
        raise ArgumentError(f"`first` must be between 0 and {context.max_page_size}")
    return PageRequest(after=None if after is None else decode_cursor(after), limit=limit)
