"""Adding deltas to an area and all its ancestors, in one fixed lock order, late in the
write's transaction; tallies that decide distinct counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.counters.keys import (
    TREE,
    VERSION,
    VERSION_OF,
)
from db.models import (
    AreaCounter,
)
from db.paths import ancestor_ids


def upsert_into(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


Rows = dict[tuple[int, str, str], int]  # (area id, metric, key) -> delta
_DEFERRED = "grassroots_counters_deferred"  # session.info: (rows, depth of each area)


@asynccontextmanager
async def deferred(session: AsyncSession) -> AsyncIterator[None]:
    """Bumps inside the block are added up and upserted when it ends without error.

    A write's counter rows — its county's above all, which every write updates —
    are then locked at the end of its transaction, for the shortest time.
    """
    if _DEFERRED in session.info:  # already deferred: the outer block applies them
        yield
        return
    rows: Rows = defaultdict(int)
    depths: dict[int, int] = {}
    session.info[_DEFERRED] = (rows, depths)
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    await _upsert(session, rows, depths)


async def bump(session: AsyncSession, deltas: Mapping[tuple[str, str, str], int]) -> None:
    """Add ``deltas`` keyed (area path, metric, key) to the area and all its ancestors."""
    pending: tuple[Rows, dict[int, int]] | None = session.info.get(_DEFERRED)
    rows, depths = pending or (defaultdict(int), {})
    # Every area a write touched changes version, even when its counts came out even.
    touched = {
        (path, VERSION, key if metric == VERSION else VERSION_OF[metric]): 1
        for path, metric, key in deltas
    }
    for (path, metric, key), delta in {**deltas, **touched}.items():
        if delta:
            for depth, area_id in enumerate(ancestor_ids(path)):
                rows[(area_id, metric, key)] += delta
                depths[area_id] = depth
    if _DEFERRED not in session.info:
        await _upsert(session, rows, depths)


async def changed(session: AsyncSession, *paths: str) -> None:
    """The areas of ``paths`` (and their ancestors) changed in a way no count shows: their
    rows or their children. Their tree versions move on."""
    await bump(session, {(path, VERSION, TREE): 0 for path in paths})


async def _upsert(session: AsyncSession, rows: Rows, depths: Mapping[int, int]) -> None:
    """One upsert for every row, in the fixed order: deepest area first, then ids."""
    order = sorted(rows, key=lambda row: (-depths[row[0]], row))
    values = [
        {"area_id": a, "metric": m, "key": k, "value": rows[(a, m, k)]}
        for a, m, k in order
        if rows[(a, m, k)]
    ]
    if not values:
        return
    statement = upsert_into(session, AreaCounter)
    statement = statement.on_conflict_do_update(
        index_elements=["area_id", "metric", "key"],
        set_={"value": AreaCounter.value + statement.excluded.value},
    )
    await session.execute(statement, values)


async def tally(
    session: AsyncSession, table: Any, keys: list[str], rows: list[dict[str, Any]], column: str
) -> dict[tuple[Any, ...], int]:
    """Upsert-increment tallies; returns each one's value after the increment."""
    if not rows:
        return {}
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    statement = upsert_into(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={column: getattr(table, column) + statement.excluded[column]}
    ).returning(*(getattr(table, k) for k in keys), getattr(table, column))
    found: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(rows), 500):
        result = await session.execute(statement, rows[start : start + 500])
        for row in result.all():
            found[tuple(row[:-1])] = row[-1]
    return found
