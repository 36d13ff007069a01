"""Engines and sessions for both dialects, configured the same way everywhere.

No pre-ping: a checkout costs no round trip. A dead pooled connection (the
server restarted, the backend was terminated) is recovered from instead:

- at checkout, a connection the driver already knows is closed is replaced
  (free: asyncpg noticed the server's goodbye while the connection sat idle);
- a session's first statement that still finds its connection dead — nothing
  ran in that transaction yet, so nothing is lost — is run once more on a fresh
  connection, after SQLAlchemy invalidated the dead ones (``Session``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy import event, exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session as SyncSession
from sqlalchemy.orm import SessionTransaction


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
    # Path-range queries want custom plans (see shared notes/rollups-on-postgres.md).
    settings = {"plan_cache_mode": "force_custom_plan", "application_name": "grassroots"}
    return _postgres_engine(url, pool_size, statement_timeout_ms, settings, echo=echo)


def _postgres_engine(
    url: str,
    pool_size: int,
    statement_timeout_ms: int,
    settings: dict[str, str],
    **options: Any,
) -> AsyncEngine:
    """A PostgreSQL engine: JIT off (it only costs here), a statement timeout (a runaway
    statement is cancelled rather than holding a connection; the server sets it,
    maintenance commands run without one), dead connections recovered (below)."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={
            "server_settings": {
                "jit": "off",
                "statement_timeout": str(statement_timeout_ms),
                **settings,
            }
        },
        **options,
    )
    event.listen(engine.sync_engine, "checkout", _postgres_on_checkout)
    event.listen(engine.sync_engine, "handle_error", _postgres_disconnects)
    return engine


# SQLSTATEs that mean the connection is gone: class 08 (connection exception) and
# the administrator's shutdown / crash / not-yet-accepting (57P01-57P03).
_GONE = ("57P01", "57P02", "57P03")


# What says the database is not there to answer — not that the request was wrong:
# PostgreSQL's connection exceptions (class 08), the administrator's shutdown / a
# crash / not accepting yet (57P01-57P03), too many connections (53300), the
# database or role gone (3D000, 28000, 28P01), and a table gone (42P01: the
# database was replaced by an empty one; the lifespan refuses to start on an
# unmigrated database, so at run time it cannot be the code's own mistake).
_UNAVAILABLE_STATES = frozenset({*_GONE, "53300", "3D000", "28000", "28P01", "42P01"})
# SQLite: the file cannot be opened or read, is no database, or lost its tables.
_SQLITE_UNAVAILABLE = ("SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_NOTADB", "SQLITE_CORRUPT")
# The driver's and the pool's own ways of saying the connection is not there.
_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable host, DNS, TimeoutError while connecting
    exc.DisconnectionError,
    exc.TimeoutError,  # no pooled connection came free in time
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.PostgresConnectionError,
)


class Unavailable(exc.DisconnectionError):
    """Raised where a layer above learnt the database was unavailable (a GraphQL
    execution answered ``SERVICE_UNAVAILABLE``): the door answers it 503 like the
    driver's own error."""


def is_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) means the database is unavailable.

    The one place that decides it, for every path into the database: SQLAlchemy's
    sessions and connections (the error wraps the driver's), the rollup statement
    run on asyncpg directly (the driver's own exceptions), SQLite through
    aiosqlite, and anything that wrapped one of those (a GraphQL error's original
    error, an exception raised while handling another). Such a request is answered
    503 ``SERVICE_UNAVAILABLE`` and can simply be retried; nothing of the error's
    text reaches the client.
    """
    seen: set[int] = set()
    pending = [error]
    while pending:
        found = pending.pop()
        if found is None or id(found) in seen:
            continue
        seen.add(id(found))
        if _unavailable_itself(found):
            return True
        pending.extend(
            (
                getattr(found, "orig", None),  # SQLAlchemy's DBAPIError: the driver's error
                getattr(found, "original_error", None),  # a GraphQLError's cause
                found.__cause__,
                found.__context__,
            )
        )
    return False


def _unavailable_itself(error: BaseException) -> bool:
    if isinstance(error, _UNAVAILABLE_TYPES):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    state = getattr(error, "sqlstate", None)  # asyncpg's, and SQLAlchemy's adapted errors
    if isinstance(state, str) and (state.startswith("08") or state in _UNAVAILABLE_STATES):
        return True
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        if name.startswith(_SQLITE_UNAVAILABLE):
            return True
        return str(error).startswith(("no such table", "unable to open database file"))
    return False


def _postgres_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")


def _postgres_disconnects(context: ExceptionContext) -> None:
    """The server's goodbye can arrive as an error before the socket's end: a disconnect too."""
    state = getattr(context.original_exception, "sqlstate", None)
    if isinstance(state, str) and (state.startswith("08") or state in _GONE):
        context.is_disconnect = True


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


_RAN = "grassroots_statement_ran"  # session.info: a statement ran in this transaction


class Session(SyncSession):
    """Runs a transaction's first statement once more when its connection was dead.

    Only when nothing can be lost: PostgreSQL, no statement ran in the transaction
    (the driver has not even begun it), and the session holds no objects (a
    rollback would expire or drop them). The failed attempt invalidated the dead
    connection (and the pool's older ones); the retry checks out a fresh one.
    """

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        retry = self._retry_options()
        if retry is None:
            return super().execute(*args, **kwargs)
        try:
            result = super().execute(*args, **kwargs)
        except exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            self._restart(retry)
            result = super().execute(*args, **kwargs)
        self.info[_RAN] = True
        return result

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self.execute(*args, **kwargs).scalar()

    def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self.execute(*args, **kwargs).scalars()

    def _retry_options(self) -> dict[str, Any] | None:
        """The connection options to retry with, or None when a retry could lose work."""
        if self.info.get(_RAN) or self.bind is None or self.bind.dialect.name != "postgresql":
            return None
        if self.identity_map or self.new or self.deleted:
            return None
        connection = self.connection()  # checked out now rather than inside execute
        driver = connection.connection.driver_connection
        if driver is None or driver.is_in_transaction():
            self.info[_RAN] = True
            return None
        options = connection.get_execution_options()
        return {
            key: options[key] for key in (WRITE_OPTION, NO_TRANSACTION_OPTION) if key in options
        }

    def _restart(self, options: dict[str, Any]) -> None:
        self.rollback()
        if options:
            self.connection(execution_options=options)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: SyncSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_RAN, None)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=Session
    )


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
    settings = {
        "plan_cache_mode": "force_generic_plan",
        "synchronous_commit": "off",
        "application_name": "grassroots-rollups",
    }
    return _postgres_engine(
        url, pool_size, statement_timeout_ms, settings, isolation_level="AUTOCOMMIT"
    )
