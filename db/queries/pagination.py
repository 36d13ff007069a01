"""Keyset pagination: ordered by primary key, a page of ``limit`` rows after a key."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    rows: Sequence[T]
    has_next: bool


async def fetch_page(
    *,
    session: AsyncSession,
    statement: Select[T],
    key: InstrumentedAttribute[Any],
    after: int | None,
    limit: int,
) -> Page[T]:
    """Rows of ``statement`` with ``key > after``, ``limit`` of them, by ``key``."""
    if after is not None:
        statement = statement.where(key > after)
    rows = (await session.scalars(statement.order_by(key).limit(limit + 1))).all()
    return Page(rows=rows[:limit], has_next=len(rows) > limit)
