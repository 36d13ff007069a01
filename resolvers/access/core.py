"""What the access resolvers share: the refusal and the audit line of a change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.queries import access as access_queries
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.writes import Rejected


def denied() -> Rejected:
    return Rejected(InputError(ErrorCode.NOT_ALLOWED_HERE, "access", "you may not manage access"))


async def audited(
    context: Context, session: AsyncSession, action: str, object_type: str, object_id: int | None
) -> None:
    await access_queries.record_audit(
        session=session,
        user_id=context.access.user_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        rows=1,
        request_id=context.request_id,
    )
