"""The per-request context: one database session, its DataLoaders, request facts."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.loaders import Loaders


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
    ) -> None:
        self.sessionmaker = sessionmaker
        self.zone = zone
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self._session: AsyncSession | None = None
        self._lock = asyncio.Lock()
        self.loaders = Loaders(self.reading)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """The request's read session, one user at a time."""
        async with self._lock:
            if self._session is None:
                self._session = self.sessionmaker()
            yield self._session

    def today(self) -> dt.date:
        return dt.datetime.now(self.zone).date()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
