"""Rollups as one statement: an area (or several), its descendants to a depth, every count.

The statement finds the target areas inside the caller's area scope, computes
each needed family of counts for every target, and pivots them into one row
per target (scalar counts as columns, lists as JSON arrays built by the
database). Where it can, a family is read from the kept counters
(``area_counter``): a target the family's scope covers reads its own row; a
partly covered one adds the counters of the granted subtrees inside it and
subtracts those of the denied ones. Windows, overdue-as-of, weekly series and
department-narrowed scopes are counted from the base rows, grouped by the
holding area and then summed per target, with the scope in the SQL.

On PostgreSQL the statement also writes the audit line of a restricted read (a
data-modifying CTE), so the read and its audit are one round trip.

The SQL text is built and compiled once per shape — which targets, which
families, the scopes — and reused with new parameters.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import asyncpg
import orjson
from cachetools import LRUCache
from sqlalchemy import func, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from db import counters
from db.models import AreaCounter, AuditEvent
from db.queries.rollups.counted import Counted
from db.queries.rollups.held import Held
from db.queries.rollups.shapes import (
    LEDGER_FAMILIES,
    SCALARS,
    UNDATED,
    Family,
    Need,
    Scopes,
    TargetRow,
    Targets,
    Window,
    from_counters,
    ledgers_of,
    need,
    version_kinds,
)

__all__ = [
    "DISCONNECTS",
    "LEDGER_FAMILIES",
    "SCALARS",
    "UNDATED",
    "AuditLine",
    "Compiled",
    "Family",
    "Need",
    "Scopes",
    "TargetRow",
    "Targets",
    "Window",
    "compiled",
    "need",
    "run",
    "unchanged",
]


class _Builder(Counted, Held):
    def build(self) -> Select[Any]:
        counted = [n for n in self.needs if from_counters(n, self.scopes)]
        for wanted in counted:
            if wanted.family in LEDGER_FAMILIES:
                for _ledger, scope in ledgers_of(wanted, self.scopes):
                    self._tag(scope)
            else:
                self._tag(self._scope_of(wanted.family))
        if counted:
            self._counted(counted)
        for index, wanted in enumerate(self.needs):
            if wanted not in counted:
                self._row_need(wanted, f"n{index}")
        t = self.t
        query = select(
            t.c.id, t.c.parent_id, t.c.path, t.c.name, t.c.code, t.c.level, *self.columns
        ).select_from(t)
        for cte, condition in self.ctes:
            query = query.outerjoin(cte, condition)
        restricted = sum(self.restricted, literal(0)) if self.restricted else literal(0)
        c = AreaCounter.__table__.c
        version = (
            select(func.sum(c.value))
            .where(
                c.area_id == t.c.id,
                c.metric == counters.VERSION,
                c.key.in_(version_kinds(self.needs)),
            )
            .scalar_subquery()
        )
        return query.add_columns(
            restricted.label("restricted"),
            self._partial().label("partial"),
            func.coalesce(version, 0).label("version"),
        ).order_by(t.c.path)


# The driver's errors that mean the connection is gone (the statement did not run).
DISCONNECTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    ConnectionError,
)


@dataclasses.dataclass(frozen=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # the request's parameters, in placeholder order
    readers: tuple[tuple[Need, str, tuple[str, ...]], ...]
    audits: bool  # the statement writes the audit line itself
    kinds: tuple[str, ...]  # the kinds of version its rows' ``version`` sums


_compiled: LRUCache[Hashable, Compiled] = LRUCache(maxsize=512)


def compiled(
    dialect: Any, targets: Targets, needs: Sequence[Need], scopes: Scopes, *, audit: bool
) -> Compiled:
    """The statement for this shape, compiled once (cached per shape and scopes)."""
    key = (dialect.name, targets, tuple(needs), scopes, audit)
    found = _compiled.get(key)
    if found is not None:
        return found
    builder = _Builder(dialect.name, targets, needs, scopes)
    query = builder.build()
    writes = audit and dialect.name == "postgresql" and bool(builder.restricted)
    if writes:
        result = query.cte("result")
        total = func.sum(result.c.restricted)
        line = (
            insert(AuditEvent)
            .from_select(
                ["user_id", "action", "object_type", "scope", "rows", "request_id"],
                select(
                    builder.param("audit_user", "INTEGER"),
                    literal("read:rollup"),
                    literal("ledger_item"),
                    func.substr(
                        func.string_agg(
                            result.c.path,
                            postgresql.aggregate_order_by(literal(";"), result.c.path),
                        ),
                        1,
                        2000,
                    ),
                    total,
                    builder.param("audit_request", "VARCHAR"),
                )
                .where(
                    result.c.restricted > 0,
                    # The line commits without waiting for its WAL flush, as a read should
                    # (lost only if the database server itself crashes in that window).
                    func.set_config("synchronous_commit", "off", True).is_not(None),
                )
                .having(total > 0),
            )
            .returning(AuditEvent.id)
            .cte("audit")
        )
        query = select(result).order_by(result.c.path).add_cte(line)
    text = query.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    names = tuple(builder.params)
    found = Compiled(
        sql=str(text),
        names=names,
        readers=tuple((n, kind, tuple(cols)) for n, kind, cols in builder.readers),
        audits=writes,
        kinds=version_kinds(needs),
    )
    _compiled[key] = found
    return found


async def run(
    connection: AsyncConnection,
    statement: Compiled,
    params: Mapping[str, Any],
) -> list[TargetRow]:
    """Run a compiled rollup statement; one row per target, in tree order.

    On PostgreSQL through the driver's own connection: asyncpg prepares the text
    once per connection and runs it in one round trip; SQLAlchemy's execution
    layer around it cost more CPU than the rest of the request's database work.
    The connection is autocommit (the rollup engine's), so nothing is left open.
    """
    arguments = tuple(params.get(name) for name in statement.names)
    rows: Sequence[Any]
    if connection.dialect.name == "postgresql":
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        rows = await driver.fetch(statement.sql, *arguments)
    else:
        rows = (await connection.exec_driver_sql(statement.sql, arguments)).all()
    found = []
    row: Any
    for row in rows:
        index = 6
        got: dict[Need, Any] = {}
        for wanted, kind, columns in statement.readers:
            if kind == "scalar":
                got[wanted] = {m: int(row[index + i]) for i, m in enumerate(columns)}
                index += len(columns)
            else:
                raw = row[index]
                # Order is the key's, decided here for both databases alike.
                got[wanted] = sorted(orjson.loads(raw) if isinstance(raw, str | bytes) else raw)
                index += 1
        found.append(
            TargetRow(
                id=row[0],
                parent_id=row[1],
                path=row[2],
                name=row[3],
                code=row[4],
                level=row[5],
                values=got,
                restricted=int(row[index]),
                partial=bool(row[index + 1]),
                version=int(row[index + 2]),
            )
        )
    return found


# -- still the same ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AuditLine:
    """The audit line of a restricted read, as the rollup statement writes it."""

    user_id: int | None
    request_id: str
    scope: str  # the paths read, ';'-joined, at most 2000 characters
    rows: int


@functools.cache
def _unchanged_sql(dialect: str, kinds: tuple[str, ...], audited: bool) -> str:
    """The version read for ``kinds`` (constants of ``db.counters``, rendered into the
    text so that each text keeps one generic plan)."""
    named = ", ".join(f"'{kind}'" for kind in kinds if kind.isidentifier())
    if dialect != "postgresql":
        return (
            "SELECT coalesce(sum(value), 0) = ? FROM area_counter"  # noqa: S608 - constants
            f" WHERE area_id = ? AND metric = 'version' AND key IN ({named})"
        )
    version = (
        "SELECT coalesce(sum(value), 0) AS v FROM area_counter"  # noqa: S608 - constants
        f" WHERE area_id = $1::integer AND metric = 'version' AND key IN ({named})"
    )
    if not audited:
        return f"SELECT v = $2::bigint FROM ({version}) v"  # noqa: S608 - constants
    return f"""WITH v AS ({version}),
audit AS (
  INSERT INTO audit_event (user_id, action, object_type, scope, rows, request_id)
  SELECT $3::integer, 'read:rollup', 'ledger_item', $4::text, $5::integer, $6::varchar
  FROM v WHERE v.v = $2::bigint AND set_config('synchronous_commit', 'off', true) IS NOT NULL
  RETURNING id
)
SELECT v = $2::bigint FROM v"""  # noqa: S608 - constants


async def unchanged(
    connection: AsyncConnection,
    area_id: int,
    kinds: tuple[str, ...],
    version: int,
    audit: AuditLine | None,
) -> bool:
    """Whether the area's versions of ``kinds`` sum to ``version`` still: then nothing of
    those kinds under it changed since a statement read it at that version (versions
    only grow). On PostgreSQL the same statement writes ``audit`` when it is (one round
    trip for a cached answer); elsewhere the caller audits as after any read."""
    sql = _unchanged_sql(connection.dialect.name, kinds, audit is not None)
    if connection.dialect.name != "postgresql":
        found = (await connection.exec_driver_sql(sql, (version, area_id))).scalar()
        return bool(found)
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    if audit is None:
        return bool(await driver.fetchval(sql, area_id, version))
    return bool(
        await driver.fetchval(
            sql,
            area_id,
            version,
            audit.user_id,
            audit.scope,
            audit.rows,
            audit.request_id,
        )
    )
