"""The per-request context: who is asking, one database session, its DataLoaders."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from strawberry.dataloader import DataLoader

from db.engine import write_transaction
from db.ledgers import Ledger
from db.queries import access as access_queries
from db.queries import rollups as rollup_queries
from resolvers import rollups
from resolvers.common.access import Access
from resolvers.common.loaders import Loaders

DEFAULT_DEADLINE_DAYS = 10
# What a rollup statement may raise when its connection is gone (retried once).
GONE: tuple[type[BaseException], ...] = (*rollup_queries.DISCONNECTS, DBAPIError)
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RestrictedRead:
    """Restricted-ledger rows returned to the caller: written to the audit trail."""

    action: str
    rows: int
    scope: str


class Context:
    """What every resolver gets: created per request by the app, closed after it.

    Strawberry resolves sibling fields concurrently, and an ``AsyncSession`` may
    not be used concurrently, so reads share one session behind a lock.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        access: Access,
        zone: ZoneInfo,
        max_page_size: int,
        default_page_size: int,
        deadline_days: Mapping[Ledger, int] | None = None,
        request_id: str = "",
        rollup_engine: AsyncEngine | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.rollup_engine = rollup_engine
        self._rollup_connection: AsyncConnection | None = None
        self.access = access
        self.zone = zone
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.deadline_days: Mapping[Ledger, int] = deadline_days or {}
        self.request_id = request_id
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self._restricted_reads: list[RestrictedRead] = []
        self._loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        """The request's DataLoaders, made on first use (the compiled path needs none)."""
        if self._loaders is None:
            loaders = Loaders(self.reading, self.access)
            loaders.rollup_by_area = DataLoader(lambda keys: rollups.load_batch(self, keys))
            loaders.on_restricted_rows = lambda rows: self.note_restricted_read(
                "read:node", rows, ""
            )
            self._loaders = loaders
        return self._loaders

    @property
    def visible_ledgers(self) -> frozenset[Ledger]:
        """The ledgers this caller may see in any form; every ledger query is scoped."""
        return self.access.visible_ledgers

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The request's read session, one user at a time.

        On PostgreSQL it runs in autocommit: each read statement is its own
        transaction (READ COMMITTED gives every statement its own snapshot anyway),
        so a read costs no BEGIN and no ROLLBACK round trip, and the audit line a
        rollup statement writes commits with it.
        """
        async with self._lock:
            if self._session is None:
                session = self.sessionmaker()
                if session.bind is not None and session.bind.dialect.name == "postgresql":
                    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                self._session = session
            yield self._session

    async def rollup_statement(self, run: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run the request's rollup statement: on PostgreSQL on the rollup engine's
        connection (generic plans, autocommit; see ``db.engine``), else on the read
        session. A connection found dead before anything ran is replaced once."""
        if self.rollup_engine is None:
            async with self.reading() as session:
                return await run(await session.connection())
        async with self._lock:
            for attempt in (1, 2):
                if self._rollup_connection is None:
                    self._rollup_connection = await self.rollup_engine.connect()
                try:
                    return await run(self._rollup_connection)
                except GONE as error:
                    gone = not isinstance(error, DBAPIError) or error.connection_invalidated
                    if not gone or attempt == 2:
                        raise
                    if not self._rollup_connection.invalidated:
                        await self._rollup_connection.invalidate()
                    await self._rollup_connection.close()
                    self._rollup_connection = None
        raise AssertionError("unreachable")

    def working_days(self, ledger: Ledger) -> int:
        """The time limit of ``ledger`` in working days (10 unless configured)."""
        return self.deadline_days.get(ledger, DEFAULT_DEADLINE_DAYS)

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()

    def note_restricted_read(self, action: str, rows: int, scope: str) -> None:
        if rows:
            self._restricted_reads.append(RestrictedRead(action, rows, scope))

    async def close(self) -> None:
        if self._rollup_connection is not None:
            await self._rollup_connection.close()
            self._rollup_connection = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        reads, self._restricted_reads = self._restricted_reads, []
        if reads:
            # One event per kind of read, however many fields noted it: one statement.
            merged: dict[str, tuple[int, list[str]]] = {}
            for read in reads:
                rows, scopes = merged.get(read.action, (0, []))
                merged[read.action] = (rows + read.rows, [*scopes, read.scope])
            async with write_transaction(self.sessionmaker) as session:
                await access_queries.record_audits(
                    session=session,
                    user_id=self.access.user_id or None,
                    request_id=self.request_id,
                    reads=[
                        (action, rows, ";".join(sorted(set(scopes)))[:2000])
                        for action, (rows, scopes) in sorted(merged.items())
                    ],
                )
