"""The current authorizer, rebuilt when the policy version moves.

Every policy or assignment change bumps a version row in its own transaction.
The door learns the current version (from the process's ``VersionWatch`` on
PostgreSQL, by reading the row on SQLite or while the watch is not trusted) and
asks for the authorizer of that version: when it moved, this process builds a
fresh authorizer from the rules and swaps it in whole — the live one is never
reloaded in place (see shared notes/casbin.md).
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from db.queries import access as access_queries
from policies.authorizer import Authorizer, Rule


class PolicyStore:
    def __init__(self) -> None:
        self._current: Authorizer | None = None
        self._lock = asyncio.Lock()

    def cached(self, version: int) -> Authorizer | None:
        """The authorizer of ``version`` if it is the one in hand (no database)."""
        found = self._current
        return found if found is not None and found.version == version else None

    async def at(self, session: AsyncSession, version: int) -> Authorizer:
        """The authorizer of ``version``, built from the rules if it is not in hand."""
        if (found := self.cached(version)) is not None:
            return found
        async with self._lock:
            if (found := self.cached(version)) is None:
                rules = await access_queries.list_rules(session=session)
                found = Authorizer([Rule(r.role, r.obj, r.act, r.eft) for r in rules], version)
                self._current = found
        return found

    async def current(self, session: AsyncSession) -> Authorizer:
        """The authorizer of the version the database holds now (one indexed read)."""
        return await self.at(session, await access_queries.policy_version(session=session))
