"""The current authorizer, rebuilt when the policy version moves.

Every policy or assignment change bumps a version row in its own transaction.
The door learns the current version (from the process's ``VersionWatch`` on
PostgreSQL, by reading the row on SQLite or while the watch is not trusted) and
asks for the authorizer of that version: when it moved, this process builds a
fresh authorizer from the rules and swaps it in whole — the live one is never
reloaded in place (see shared notes/casbin.md).

Where the rules and the version are read is given to the store (``resolvers.access.rules``
reads them from the database), so that policies stay free of the data layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from policies.authorizer import Authorizer, Rule

Session = TypeVar("Session")


class PolicyStore(Generic[Session]):
    def __init__(
        self,
        *,
        rules: Callable[[Session], Awaitable[Sequence[Rule]]],
        version: Callable[[Session], Awaitable[int]],
    ) -> None:
        self._rules = rules
        self._version = version
        self._current: Authorizer | None = None
        self._lock = asyncio.Lock()

    def cached(self, version: int) -> Authorizer | None:
        """The authorizer of ``version`` if it is the one in hand (no database)."""
        found = self._current
        return found if found is not None and found.version == version else None

    async def at(self, session: Session, version: int) -> Authorizer:
        """The authorizer of ``version``, built from the rules if it is not in hand."""
        if (found := self.cached(version)) is not None:
            return found
        async with self._lock:
            if (found := self.cached(version)) is None:
                found = Authorizer(list(await self._rules(session)), version)
                self._current = found
        return found

    async def current(self, session: Session) -> Authorizer:
        """The authorizer of the version the database holds now (one indexed read)."""
        return await self.at(session, await self._version(session))
