"""Dead pooled connections, without a pre-ping: replaced at checkout when the driver
already knows, and a transaction's first statement retried once when it does not."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, exc, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_engine, is_sqlite, write_transaction
from db.models import PolicyVersion


def _postgres(database_url: str) -> None:
    if is_sqlite(database_url):
        pytest.skip("server backends are PostgreSQL's")


def _arguments(database_url: str) -> dict[str, Any]:
    found: dict[str, Any] = make_url(database_url).translate_connect_args(
        username="user", database="database"
    )
    return found


async def _terminate(database_url: str, pid: int) -> None:
    connection = await asyncpg.connect(**_arguments(database_url))
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await connection.close()


def terminate_unnoticed(database_url: str, pid: int) -> None:
    """Terminate backend ``pid`` while this event loop is blocked: its driver cannot notice."""
    thread = threading.Thread(target=lambda: asyncio.run(_terminate(database_url, pid)))
    thread.start()
    thread.join()


async def _backend_pid(session: AsyncSession) -> int:
    raw = await (await session.connection()).get_raw_connection()
    pid: int = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    return pid


def _invalidations(engine: AsyncEngine) -> list[object]:
    seen: list[object] = []
    event.listen(engine.sync_engine, "invalidate", lambda *args: seen.append(args[2]))
    return seen


async def test_no_pre_ping(engine: AsyncEngine) -> None:
    assert engine.pool._pre_ping is False


async def test_the_first_statement_on_a_dead_connection_is_run_again_on_a_fresh_one(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _postgres(database_url)
    seen = _invalidations(sessionmaker.kw["bind"])
    async with sessionmaker() as session:
        pid = await _backend_pid(session)  # checked out, nothing sent yet
        terminate_unnoticed(database_url, pid)
        version = await session.scalar(select(PolicyVersion.version))
        assert version == 1
        assert await _backend_pid(session) != pid
    assert seen, "the dead connection was not invalidated"


async def test_a_write_transaction_starts_again_on_a_fresh_connection(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _postgres(database_url)
    async with write_transaction(sessionmaker) as session:
        terminate_unnoticed(database_url, await _backend_pid(session))
        await session.execute(text("UPDATE policy_version SET version = version + 1"))
    async with sessionmaker() as session:
        assert await session.scalar(select(PolicyVersion.version)) == 2


async def test_no_retry_once_the_transaction_has_run_a_statement(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Its work would be lost with the connection: the error reaches the caller."""
    _postgres(database_url)
    async with sessionmaker() as session:
        await session.execute(text("UPDATE policy_version SET version = version + 1"))
        terminate_unnoticed(database_url, await _backend_pid(session))
        with pytest.raises(exc.DBAPIError) as raised:
            await session.execute(select(PolicyVersion.version))
        assert raised.value.connection_invalidated
        await session.rollback()
    async with sessionmaker() as session:
        assert await session.scalar(select(PolicyVersion.version)) == 1  # nothing committed


async def test_a_connection_closed_while_idle_is_replaced_at_checkout(database_url: str) -> None:
    _postgres(database_url)
    engine = create_engine(database_url, pool_size=1)
    try:
        seen = _invalidations(engine)
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        await _terminate(database_url, pid)  # the loop runs: asyncpg sees the goodbye
        await asyncio.sleep(0.05)
        async with engine.begin() as connection:  # Core, not a Session: the checkout check
            assert await connection.scalar(text("SELECT 1")) == 1
        assert len(seen) == 1
    finally:
        await engine.dispose()
