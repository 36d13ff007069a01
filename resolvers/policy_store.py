"""The current authorizer, rebuilt when the policy version moves.

Every policy or assignment change bumps a version row in its own transaction.
Each request reads that row (one indexed lookup) and, when it moved, this
process builds a fresh authorizer from the rules and swaps it in whole — the
live one is never reloaded in place (see shared notes/casbin.md).
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

    async def current(self, session: AsyncSession) -> Authorizer:
        version = await access_queries.policy_version(session=session)
        found = self._current
        if found is not None and found.version == version:
            return found
        async with self._lock:
            found = self._current
            if found is None or found.version != version:
                rules = await access_queries.list_rules(session=session)
                found = Authorizer([Rule(r.role, r.obj, r.act, r.eft) for r in rules], version)
                self._current = found
        return found
