"""Materialised paths of the area tree: fixed-width id segments, trailing separator.

``/00000001/00000004/`` is area 4 under area 1. A prefix never matches a sibling
(``/00000001/`` vs ``/00000011/``), and a subtree is the half-open range
``[path, path_end(path))``: ``/`` is followed by ``0`` in byte order.
"""

from __future__ import annotations

SEPARATOR = "/"
SEGMENT_WIDTH = 8  # up to 99,999,999 areas


def segment(area_id: int) -> str:
    if not 0 < area_id < 10**SEGMENT_WIDTH:
        raise ValueError(f"area id out of range for a path segment: {area_id}")
    return f"{area_id:0{SEGMENT_WIDTH}d}{SEPARATOR}"


def child_path(parent_path: str | None, area_id: int) -> str:
    return (parent_path or SEPARATOR) + segment(area_id)


def path_end(path: str) -> str:
    """The first string after every path that starts with ``path``."""
    return path[:-1] + chr(ord(path[-1]) + 1)


def ancestor_ids(path: str) -> list[int]:
    """Ids on the path, root first, the area itself last."""
    return [int(part) for part in path.strip(SEPARATOR).split(SEPARATOR) if part]
