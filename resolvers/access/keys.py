"""API keys for reporting tools: created (shown once), revoked."""

from __future__ import annotations

import datetime as dt

from db.engine import write_transaction
from db.queries import access as access_queries
from policies.permissions import Act, Obj
from resolvers.access.core import audited, denied
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.writes import Outcome
from resolvers.credentials import new_api_key


async def create_api_key(context: Context, *, username: str, name: str) -> Outcome[str]:
    """A new API key for ``username``; the key itself is returned once and never stored."""
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        return Outcome(errors=denied().errors)
    new = new_api_key()
    async with write_transaction(context.sessionmaker) as session:
        user = await access_queries.get_user(session=session, username=username)
        if user is None:
            return Outcome(errors=(InputError(ErrorCode.OUT_OF_RANGE, "username", "no such user"),))
        key = await access_queries.create_api_key(
            session=session,
            user_id=user.id,
            name=name,
            prefix=new.prefix,
            secret_hash=new.secret_hash,
        )
        await audited(context, session, "createApiKey", "api_key", key.id)
    return Outcome(value=new.key)


async def revoke_api_key(context: Context, *, prefix: str) -> Outcome[bool]:
    if context.access.scope(Obj.ACCESS, Act.WRITE).empty:
        return Outcome(errors=denied().errors)
    async with write_transaction(context.sessionmaker) as session:
        revoked = await access_queries.revoke_api_key(
            session=session, prefix=prefix, at=dt.datetime.now(dt.UTC)
        )
        await audited(context, session, "revokeApiKey", "api_key", None)
    return Outcome(value=revoked > 0)
