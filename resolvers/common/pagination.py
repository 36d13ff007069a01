"""Connection arguments: page size within limits, opaque cursors over row ids."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from db.models import Area
from db.queries import areas as area_queries
from db.queries.pagination import Page as Page  # the pages resolvers return
from policies.permissions import Obj
from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError

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


@dataclasses.dataclass(frozen=True)
class Held:
    """Rows held by areas (a cadre's home area, a meeting's area), read by a permission."""

    held_by: Any  # the table's area column
    key: Any  # its primary key
    obj: Obj


async def page_held_in(
    context: Context, area: Area, held: Held, *, first: int | None, after: str | None
) -> Page[Any]:
    """A page of the rows ``held`` by ``area``'s subtree that the caller may read."""
    request = page_request(context, first=first, after=after)
    async with context.reading() as session:
        return await area_queries.page_held_in(
            session=session,
            held_by=held.held_by,
            key=held.key,
            area=area,
            scope=context.access.scope(held.obj),
            after=request.after,
            limit=request.limit,
        )
