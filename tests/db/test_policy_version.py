"""The policy version in memory: notified by the row's trigger, trusted for a lease,
moved at once by this process's own commits; writers settle on every listener."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import policy_version as versions
from db.engine import is_sqlite, write_transaction
from db.queries import access as access_queries


def _arguments(database_url: str) -> dict[str, Any]:
    found: dict[str, Any] = make_url(database_url).translate_connect_args(
        username="user", database="database"
    )
    return found


@pytest.fixture
async def quiet_watch(
    clean_engine: AsyncEngine, database_url: str
) -> AsyncIterator[versions.VersionWatch]:
    """A watch whose heartbeat never comes in a test: only notifications move it."""
    if is_sqlite(database_url):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    watch = versions.VersionWatch(clean_engine, heartbeat=60, lease=120)
    await watch.start()
    assert await watch.ready(5)
    try:
        yield watch
    finally:
        await watch.stop()


async def test_a_bare_update_of_the_row_is_notified(
    quiet_watch: versions.VersionWatch, database_url: str
) -> None:
    assert quiet_watch.known() == 1
    connection = await asyncpg.connect(**_arguments(database_url))
    try:
        version = await connection.fetchval(
            "UPDATE policy_version SET version = version + 1 RETURNING version"
        )
    finally:
        await connection.close()
    assert version == 2
    assert await versions.settle(quiet_watch.engine, version, within=5)  # published it
    assert quiet_watch.known() == 2
    assert quiet_watch.connections == 1  # no reconnect: the notification did it


async def test_a_commit_of_this_process_moves_its_watches_at_once(
    quiet_watch: versions.VersionWatch, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    url = quiet_watch.engine.url
    commits = versions.local_commits()
    async with write_transaction(sessionmaker) as session:
        version = await access_queries.bump_version(session=session)
    assert versions.local_commits() == commits + 1
    assert versions.last_local_version(url) == version == 2
    assert quiet_watch.known() == 2
    versions.note_commit(url, 7)  # what the hook does, without the database
    assert quiet_watch.known() == 7


async def test_a_rolled_back_bump_is_not_noted(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    commits = versions.local_commits()
    async with sessionmaker() as session:
        await access_queries.bump_version(session=session)
        await session.rollback()
        assert await access_queries.policy_version(session=session) == 1
    assert versions.local_commits() == commits


async def test_the_version_is_trusted_only_for_a_lease(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    """A heartbeat that does not come back in time (a hung connection, a stalled
    loop): the caller reads the row again."""
    watch = versions.VersionWatch(clean_engine, heartbeat=60, lease=0.3)
    await watch.start()
    try:
        if is_sqlite(database_url):
            assert watch.known() is None  # always read on SQLite
            return
        assert await watch.ready(5)
        assert watch.known() == 1
        time.sleep(0.35)  # noqa: ASYNC251 -- a stalled event loop, on purpose
        assert watch.known() is None
    finally:
        await watch.stop()


async def test_settle_waits_for_a_lagging_listener_at_most_its_bound(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    if is_sqlite(database_url):
        assert await versions.settle(clean_engine, 5)  # nobody to wait for
        return
    assert await versions.settle(clean_engine, 5, within=0.5)  # no listener at all
    lagging = await asyncpg.connect(
        **_arguments(database_url), server_settings={"application_name": "grassroots-policy:4"}
    )
    try:
        started = time.monotonic()
        assert not await versions.settle(clean_engine, 5, within=0.3)
        assert time.monotonic() - started >= 0.3
        assert await versions.settle(clean_engine, 4, within=0.3)  # it holds 4
    finally:
        await lagging.close()
    assert await versions.settle(clean_engine, 5, within=0.3)
