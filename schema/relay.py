"""Relay plumbing: decoding global ids, each Node type's lookup by id, building connections
from pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import strawberry
from strawberry.relay import Connection, Edge, GlobalID, GlobalIDValueError, Node, PageInfo

from resolvers.common.context import Context
from resolvers.common.pagination import Page, encode_cursor


def decode_id(value: str, type_name: str) -> int | None:
    """The row id inside a global id of ``type_name``; None for anything else.

    Malformed ids, ids of another type and ids of rows that do not exist all
    end the same way: the caller answers as for a missing object.
    """
    try:
        global_id = GlobalID.from_id(value)
    except GlobalIDValueError:
        return None
    return row_id_of(global_id.node_id) if global_id.type_name == type_name else None


def row_id_of(node_id: str) -> int | None:
    """The row id a global id's node part names, or None."""
    # ASCII digits only: str.isdigit() also takes "²" (int() refuses it) and "１"
    # (int() reads it as 1, so another spelling would name a real row).
    if not (node_id.isascii() and node_id.isdigit()):
        return None
    row_id = int(node_id)
    return row_id if 0 < row_id < 2**31 else None


Row = TypeVar("Row")


def by_row_id(fetch: Callable[[Context, int], Awaitable[Row | None]]) -> Any:
    """A Node type's ``resolve_node`` (strawberry's relay resolution, used by ``node`` and
    ``nodes``): the row of that id as the caller may see it, mapped by ``from_row``;
    None for a malformed id, a missing row and a row outside the caller's scope alike."""

    async def resolve_node(
        cls: Any, node_id: str, *, info: strawberry.Info, required: bool = False
    ) -> Any:
        row_id = row_id_of(node_id)
        row = None if row_id is None else await fetch(info.context, row_id)
        return None if row is None else cls.from_row(row)

    return classmethod(resolve_node)


def no_lookup() -> Any:
    """``resolve_node`` of a Node type that ``node`` does not look up: always None."""

    async def resolve_node(
        cls: Any, node_id: str, *, info: strawberry.Info, required: bool = False
    ) -> None:
        return None

    return classmethod(resolve_node)


R = TypeVar("R")
N = TypeVar("N", bound=Node)


def connection(
    page: Page[R], to_node: Callable[[R], N], row_id: Callable[[R], int]
) -> Connection[N]:
    edges = [Edge(cursor=encode_cursor(row_id(row)), node=to_node(row)) for row in page.rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
