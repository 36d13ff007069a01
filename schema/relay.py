"""Relay plumbing: decoding global ids, building connections from pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from strawberry.relay import Connection, Edge, GlobalID, GlobalIDValueError, Node, PageInfo

from resolvers.pagination import Page, encode_cursor


def decode_id(value: str, type_name: str) -> int | None:
    """The row id inside a global id of ``type_name``; None for anything else.

    Malformed ids, ids of another type and ids of rows that do not exist all
    end the same way: the caller answers as for a missing object.
    """
    try:
        global_id = GlobalID.from_id(value)
    except GlobalIDValueError:
        return None
    node_id = global_id.node_id
    # ASCII digits only: str.isdigit() also takes "²" (int() refuses it) and "１"
    # (int() reads it as 1, so another spelling would name a real row).
    if global_id.type_name != type_name or not (node_id.isascii() and node_id.isdigit()):
        return None
    row_id = int(global_id.node_id)
    return row_id if 0 < row_id < 2**31 else None


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
