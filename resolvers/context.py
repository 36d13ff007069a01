"""The per-request context: one database session, its DataLoaders, request facts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ledgers import Ledger
from resolvers.loaders import Loaders

DEFAULT_DEADLINE_DAYS = 10


class Context:
    """What every resolver gets: created per request by the app, closed after it.

    Strawberry resolves sibling fields concurrently, and an ``AsyncSession`` may
    not be used concurrently, so reads share one session behind a lock.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        zone: ZoneInfo,
        max_page_size: int,
        default_page_size: int,
        deadline_days: Mapping[Ledger, int] | None = None,
        visible_ledgers: frozenset[Ledger] = frozenset(Ledger),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.zone = zone
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.deadline_days: Mapping[Ledger, int] = deadline_days or {}
        # The ledgers this caller may see in any form; every ledger query takes it.
        self.visible_ledgers = visible_ledgers
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self.loaders = Loaders(self.reading, visible_ledgers)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The request's read session, one user at a time."""
        async with self._lock:
            if self._session is None:
                self._session = self.sessionmaker()
            yield self._session

    def working_days(self, ledger: Ledger) -> int:
        """The time limit of ``ledger`` in working days (10 unless configured)."""
        return self.deadline_days.get(ledger, DEFAULT_DEADLINE_DAYS)

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
