"""The door's cost and freshness: no connection when the version and principal are known,
policy changes by other processes obeyed on the next request, a dropped listener, and
every backend terminated under a running app."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from db import policy_version as versions
from db.engine import is_sqlite
from tests.conftest import token_for
from tests.helpers import Tree, gql, grant, make_tree

ME = "{ me { username } }"
AREA = "query ($c: String!) { area(code: $c) { name children { name } } }"
VILLAGE = "519902101001"


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


def _postgres(database_url: str) -> None:
    if is_sqlite(database_url):
        pytest.skip("LISTEN/NOTIFY and server-side backends are PostgreSQL's")


@asynccontextmanager
async def side_connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of "another process": none of this process's hooks see its commits."""
    arguments: dict[str, Any] = make_url(database_url).translate_connect_args(
        username="user", database="database"
    )
    connection = await asyncpg.connect(**arguments)
    try:
        yield connection
    finally:
        await connection.close()


async def revoke_elsewhere(database_url: str, username: str) -> int:
    """Another process revokes every role of ``username`` and bumps the version."""
    async with side_connection(database_url) as connection, connection.transaction():
        await connection.execute(
            "DELETE FROM role_assignment WHERE user_id ="
            " (SELECT id FROM app_user WHERE username = $1)",
            username,
        )
        version: int = await connection.fetchval(
            "UPDATE policy_version SET version = version + 1 RETURNING version"
        )
    return version


@dataclasses.dataclass
class Counts:
    checkouts: int = 0
    statements: int = 0
    transactions: int = 0


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[Counts]:
    counts = Counts()
    target = engine.sync_engine

    def checkout(*_args: Any) -> None:
        counts.checkouts += 1

    def statement(*_args: Any) -> None:
        counts.statements += 1

    def begin(*_args: Any) -> None:
        counts.transactions += 1

    listeners = (("checkout", checkout), ("before_cursor_execute", statement), ("begin", begin))
    for name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield counts
    finally:
        for name, listener in listeners:
            event.remove(target, name, listener)


def _engine(app: Starlette) -> AsyncEngine:
    engine: AsyncEngine = app.state.engine
    return engine


def _watch(app: Starlette) -> versions.VersionWatch:
    watch: versions.VersionWatch = app.state.policy_watch
    return watch


@pytest.mark.usefixtures("tree")
async def test_the_door_takes_no_connection_when_version_and_principal_are_known(
    app: Starlette, client: httpx.AsyncClient, database_url: str
) -> None:
    if not is_sqlite(database_url):
        assert await _watch(app).ready(5)
    # The principal and authorizer of this version now in hand; the endpoint has seen
    # both documents (it looks a new document's hash up among the saved queries once).
    await gql(client, ME)
    await gql(client, AREA, {"c": "519902"})
    with counting(_engine(app)) as door_only:
        await gql(client, ME)  # `me` is answered from the principal: only the door could read
    with counting(_engine(app)) as read:
        await gql(client, AREA, {"c": "519902"})
    if is_sqlite(database_url):
        # SQLite: the version row is read per request (a file read, no network trip):
        # BEGIN DEFERRED and the SELECT.
        assert door_only == Counts(checkouts=1, statements=2, transactions=1)
        assert read.checkouts == 2 and read.transactions == 2
    else:
        assert door_only == Counts(checkouts=0, statements=0, transactions=0)
        # A read request: one connection, checked out once, one transaction, no pre-ping.
        assert read.checkouts == 1 and read.transactions == 1
        assert read.statements >= 1
        assert _engine(app).pool._pre_ping is False


async def test_a_revocation_by_another_process_is_obeyed_on_the_next_request(
    app: Starlette,
    settings: Settings,
    database_url: str,
    tree: Tree,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The writer's protocol: commit, then settle; any request after that obeys."""
    _postgres(database_url)
    watch = _watch(app)
    assert await watch.ready(5)
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    headers = {"authorization": f"Bearer {token_for(settings, 'vc')}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as vc:
        assert (await gql(vc, AREA, {"c": VILLAGE}))["area"]["name"] == "测试村"
        assert (await gql(vc, AREA, {"c": VILLAGE}))["area"] is not None  # cached principal
        version = await revoke_elsewhere(database_url, "vc")
        assert await versions.settle(_engine(app), version)  # this process's listener holds it
        assert watch.known() == version
        assert (await gql(vc, AREA, {"c": VILLAGE}))["area"] is None


async def test_a_dropped_listener_falls_back_to_reading_and_comes_back(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    tree: Tree,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _postgres(database_url)
    watch = _watch(app)
    assert await watch.ready(5)
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    headers = {"authorization": f"Bearer {token_for(settings, 'vc')}"}
    transport = httpx.ASGITransport(app=app)
    monkeypatch.setattr(versions, "BACKOFF_SECONDS", (1.5, 1.5))  # stay down a while
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as vc:
        assert (await gql(vc, AREA, {"c": VILLAGE}))["area"] is not None
        await gql(client, ME)  # the endpoint has seen the document
        async with side_connection(database_url) as side:
            dropped = await side.fetchval(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
                " WHERE datname = current_database()"
                " AND application_name LIKE 'grassroots-policy:%'"
            )
        assert dropped == 1
        assert watch.known() is None  # noticed at once: no longer trusted
        # Changed while nobody listens: no notification reaches this process.
        version = await revoke_elsewhere(database_url, "vc")
        assert (await gql(vc, AREA, {"c": VILLAGE}))["area"] is None
        await gql(client, ME)  # the new version's authorizer and principal now in hand
        with counting(_engine(app)) as door:
            await gql(client, ME)
        assert door == Counts(checkouts=1, statements=1, transactions=1)  # the version row
        # Back (reconnected with backoff), the row re-read on reconnect.
        assert await watch.ready(10)
        assert watch.connections == 2 and watch.known() == version
        with counting(_engine(app)) as door:
            await gql(client, ME)
        assert door.checkouts == 0


@pytest.mark.usefixtures("tree")
async def test_the_next_request_after_every_backend_was_terminated_succeeds(
    app: Starlette, client: httpx.AsyncClient, database_url: str
) -> None:
    """What a PostgreSQL restart does to a running server: no request fails for it."""
    _postgres(database_url)
    assert await _watch(app).ready(5)
    for _ in range(3):
        await gql(client, AREA, {"c": "519902"})
    async with side_connection(database_url) as side:
        terminated = await side.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    assert terminated >= 2  # the app's pooled connection(s) and its listener, at least
    data = await gql(client, AREA, {"c": "519902"})
    assert data["area"]["name"] == "测试县"
    assert (await gql(client, ME))["me"]["username"] == "tester"
