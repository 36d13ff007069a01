"""The policy version a server process decides by, known without a round trip per request.

Every policy or assignment change bumps the ``policy_version`` row in its own
transaction. On PostgreSQL a trigger on that row notifies channel
``grassroots_policy`` with the new version (migration 0006), so even a bare
``UPDATE policy_version SET version = version + 1`` is seen.

Each server process runs one ``VersionWatch``: a dedicated asyncpg connection
that LISTENs on the channel and reads the row once a second (the heartbeat).
The version it holds is trusted for ``LEASE_SECONDS`` after the last heartbeat
that confirmed it; past that — the connection dropped or hung, or the event
loop stalled — ``known()`` answers None and the caller reads the row itself,
until the listener is back (reconnected with backoff; the row re-read on
reconnect). Nothing is ever served on a stale version silently.

The ordering window: a notification reaches each process asynchronously, some
time after its transaction committed. A writer closes it with ``settle()``
after committing: each listener publishes the version it holds as its
connection's ``application_name`` (``grassroots-policy:<version>``), and
``settle`` waits until no listener of the database shows an older one — or
until a lease has passed, after which a process that still lacks the version
no longer trusts its memory. Either way, once the writer has answered, every
request that any process starts afterwards is decided by the new version. The
commits of this process move its own watches at once (``note_commit``).

SQLite has no notifications; there ``known()`` is always None and the row is
read per request (a local file read, no network trip).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import weakref
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

CHANNEL = "grassroots_policy"  # the trigger's channel (migration 0006)
LISTENER_PREFIX = "grassroots-policy:"  # + the version the process holds
HEARTBEAT_SECONDS = 1.0
LEASE_SECONDS = 3.0  # how long a heartbeat's answer is trusted; writers wait at most this
SETTLE_MARGIN_SECONDS = 0.25
BACKOFF_SECONDS = (0.1, 5.0)  # reconnect pauses: first, and the most they grow to

READ_VERSION = "SELECT version FROM policy_version WHERE id = 1"
PUBLISH = "SELECT set_config('application_name', $1, false)"
# Listeners of this database that publish an older version than :version.
LAGGING = text(
    "SELECT pid, application_name FROM pg_stat_activity"
    " WHERE datname = current_database() AND application_name LIKE 'grassroots-policy:%'"
    " AND CASE WHEN application_name ~ '^grassroots-policy:[0-9]{1,18}$'"
    " THEN substr(application_name, 19)::bigint < :version ELSE false END"
)

log = logging.getLogger("grassroots.policy")


def database_key(url: URL) -> str:
    """One database, whichever driver names it (watches and commits are matched by it)."""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


class _Local:
    """What this process committed itself."""

    commits = 0
    versions: dict[str, int] = {}  # noqa: RUF012 -- one per process, on purpose


_watches: weakref.WeakSet[VersionWatch] = weakref.WeakSet()


def note_commit(url: URL, version: int) -> None:
    """This process committed ``version``: its watches of that database hold it at once."""
    key = database_key(url)
    _Local.commits += 1
    _Local.versions[key] = version
    for watch in list(_watches):
        if watch.key == key:
            watch.advance(version)


def local_commits() -> int:
    """How many policy versions this process has committed (to tell whether one did)."""
    return _Local.commits


def last_local_version(url: URL) -> int | None:
    """The newest version this process committed on the database at ``url``."""
    return _Local.versions.get(database_key(url))


async def settle(
    engine: AsyncEngine, version: int, *, within: float = LEASE_SECONDS + SETTLE_MARGIN_SECONDS
) -> bool:
    """After committing ``version``: wait until every listening process holds it.

    True when all of them say so; False when ``within`` seconds (a lease and a
    margin) passed first — by then any process still without it has stopped
    trusting its memory and reads the row per request. Costs one statement per
    poll, a few in all when every process is healthy.
    """
    if engine.dialect.name != "postgresql":
        return True
    deadline = time.monotonic() + within
    pause = 0.002
    async with engine.connect() as connection:
        # Each poll in its own transaction: pg_stat_activity is a per-transaction snapshot.
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        while True:
            lagging = (await connection.execute(LAGGING, {"version": version})).all()
            if not lagging:
                return True
            if time.monotonic() >= deadline:
                log.warning(
                    "policy version %d: listeners did not confirm within %.1f s: %s",
                    version,
                    within,
                    ", ".join(f"{name} (backend {pid})" for pid, name in lagging),
                )
                return False
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)


class _Lost(Exception):
    """The listener's connection closed."""


class VersionWatch:
    """This process's view of the policy version (see the module's docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.engine = engine
        self.key = database_key(engine.url)
        self.heartbeat = heartbeat
        self.lease = lease
        self.listens = engine.dialect.name == "postgresql"
        self.connections = 0  # listener connections made (1 + reconnects)
        self._version = 0
        self._confirmed = -math.inf  # monotonic time a heartbeat confirmed _version
        self._published: int | None = None
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def known(self) -> int | None:
        """The current version, or None: then read it from the database."""
        if time.monotonic() - self._confirmed < self.lease:
            return self._version
        return None

    def advance(self, version: int) -> None:
        """A newer version is committed (notified, or committed by this process)."""
        if version > self._version:
            self._version = version
        self._wake.set()

    async def start(self, *, wait: float = 2.0) -> None:
        """Start listening (PostgreSQL); wait up to ``wait`` seconds for the first heartbeat."""
        if not self.listens or self._task is not None:
            return
        _watches.add(self)
        self._task = asyncio.create_task(self._run(), name="policy-version-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self._ready.wait()

    async def ready(self, within: float) -> bool:
        """Wait until the held version is trusted again (after a start or a reconnect)."""
        deadline = time.monotonic() + within
        while self.known() is None:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    async def stop(self) -> None:
        _watches.discard(self)
        self._confirmed = -math.inf
        if self._task is not None:
            self._task.cancel()
            # Bounded: a shutdown never hangs on the listener.
            await asyncio.wait({self._task}, timeout=5)
            self._task = None

    async def _run(self) -> None:
        pause = BACKOFF_SECONDS[0]
        while True:
            try:
                await self._listen()
            except Exception as error:  # whatever it was, fall back and try again
                self._confirmed = -math.inf
                if self._published is not None:  # it was working: retry soon
                    pause = BACKOFF_SECONDS[0]
                log.warning(
                    "policy version listener down (%s: %s); reading the version per "
                    "request until it is back, next try in %.1f s",
                    type(error).__name__,
                    error,
                    pause,
                )
            self._published = None
            await asyncio.sleep(pause)
            pause = min(pause * 2, BACKOFF_SECONDS[1])

    async def _listen(self) -> None:
        arguments: dict[str, Any] = self.engine.url.translate_connect_args(
            username="user", database="database"
        )
        connection = await asyncpg.connect(
            **arguments,
            timeout=self.lease,
            server_settings={"application_name": f"{LISTENER_PREFIX}0"},
        )
        lost = asyncio.Event()

        def on_lost(_connection: object) -> None:
            self._confirmed = -math.inf  # fall back at once, before any reconnect
            lost.set()
            self._wake.set()

        connection.add_termination_listener(on_lost)
        try:
            await connection.add_listener(CHANNEL, self._notified)
            first = True
            while not lost.is_set():
                # Sent after LISTEN: a change either is notified or is in this answer.
                sent = time.monotonic()
                async with asyncio.timeout(self.lease):
                    found = await connection.fetchval(READ_VERSION)
                if lost.is_set():
                    break  # the answer came with the connection's end: not a confirmation
                version = int(found or 0)
                if first:
                    self._version = version  # on (re)connect the row decides, as read
                    self.connections += 1
                    first = False
                    log.info("policy version listener up at version %d", version)
                else:
                    self._version = max(self._version, version)
                self._confirmed = sent
                self._ready.set()
                await self._publish_until(connection, lost, sent + self.heartbeat)
            raise _Lost("the listener's connection closed")
        finally:
            connection.terminate()

    async def _publish_until(
        self, connection: asyncpg.Connection, lost: asyncio.Event, until: float
    ) -> None:
        """Publish each version this process comes to hold, until the next heartbeat."""
        while not lost.is_set():
            if self._published != self._version:
                held = self._version  # held in memory before it is published
                name = f"{LISTENER_PREFIX}{held}"
                async with asyncio.timeout(self.lease):
                    await connection.fetchval(PUBLISH, name)
                self._published = held
                continue
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            self._wake.clear()
            if self._published != self._version:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.advance(int(payload))
        self._wake.set()
