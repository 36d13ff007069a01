"""The audit trail, for auditors: filtered pages, oldest first."""

from __future__ import annotations

import datetime as dt

from db.models import AuditEvent
from db.queries import access as access_queries
from db.queries.pagination import Page
from policies.permissions import Act, Obj
from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError
from resolvers.common.pagination import page_request


def _in_utc(name: str, moment: dt.datetime | None) -> dt.datetime | None:
    """``moment`` in UTC; refused when that falls outside the calendar (year 1–9999)."""
    if moment is None:
        return None
    try:
        return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    except OverflowError as error:
        raise ArgumentError(f"`{name}` is outside the years 1–9999 in UTC") from error


async def audit_page(
    context: Context,
    *,
    username: str | None,
    action: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    first: int | None,
    after: str | None,
) -> Page[AuditEvent]:
    if context.access.scope(Obj.AUDIT, Act.READ).empty:
        raise ArgumentError("you may not read the audit trail")
    request = page_request(context, first=first, after=after)
    since, until = _in_utc("since", since), _in_utc("until", until)
    async with context.reading() as session:
        user_id = None
        if username is not None:
            user = await access_queries.get_user(session=session, username=username)
            user_id = user.id if user else -1
        return await access_queries.page_audit(
            session=session,
            user_id=user_id,
            action=action,
            since=since,
            until=until,
            after=request.after,
            limit=request.limit,
        )
