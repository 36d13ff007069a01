"""Engines and sessions for both dialects, configured the same way everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, statement_timeout_ms: int = 0
) -> AsyncEngine:
    """Create the async engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    ``statement_timeout_ms`` applies on PostgreSQL only (0: none); SQLite has no
    such setting.
    """
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                # Path-range queries want custom plans, and JIT only costs here
                # (see shared notes/rollups-on-postgres.md).
                "plan_cache_mode": "force_custom_plan",
                "jit": "off",
                "application_name": "grassroots",
                # A runaway statement is cancelled rather than holding a connection
                # (the server sets it; maintenance commands run without one).
                "statement_timeout": str(statement_timeout_ms),
            }
        },
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()
    # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver's implicit
    # BEGIN cannot be made IMMEDIATE).
    dbapi_connection.isolation_level = None


def _sqlite_on_begin(conn: Any) -> None:
    # A write transaction takes SQLite's write lock up front: a deferred one that
    # reads first and then writes can fail with "database is locked" under
    # concurrent writers, whatever busy_timeout says.
    options = conn.get_execution_options()
    if options.get(NO_TRANSACTION_OPTION):
        return  # statements that SQLite ignores inside a transaction (PRAGMA foreign_keys)
    mode = "IMMEDIATE" if options.get(WRITE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


WRITE_OPTION = "grassroots_write"
NO_TRANSACTION_OPTION = "grassroots_no_transaction"


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def write_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in a transaction meant to write: committed on success, rolled back on error."""
    async with sessionmaker() as session:
        # Procuring the connection with the option begins the transaction with it.
        await session.connection(execution_options={WRITE_OPTION: True})
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


def create_rollup_engine(
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 0
) -> AsyncEngine | None:
    """The engine of the rollup statements (``db.queries.rollups``), PostgreSQL only.

    Those statements carry their scopes and constants in their text and only the
    request's values as parameters, so one generic plan per connection serves
    every execution: planning them anew each time (``force_custom_plan``, right
    for the path-range queries elsewhere) cost more than running them. Autocommit:
    a rollup is one statement, so it needs no BEGIN or ROLLBACK round trip, and
    the audit line it may write commits with it, without waiting for the WAL
    flush (a read's audit line; writes keep full durability on the main engine).
    """
    if is_sqlite(url):
        return None
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        isolation_level="AUTOCOMMIT",
        connect_args={
            "server_settings": {
                "plan_cache_mode": "force_generic_plan",
                "jit": "off",
                "synchronous_commit": "off",
                "application_name": "grassroots-rollups",
                "statement_timeout": str(statement_timeout_ms),
            }
        },
    )
    return engine
