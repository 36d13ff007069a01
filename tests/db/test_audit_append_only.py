"""The audit trail is append-only on both databases: UPDATE and DELETE are refused.

PostgreSQL by the trigger of migration 0003, SQLite by those of 0007. Tried through
the database itself (plain SQL, as any client of the database could), for a row
that exists, and for a statement that touches no row at all (DELETE without WHERE
on SQLite would otherwise empty the table in one step).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import AuditEvent

STATEMENTS = [
    "UPDATE audit_event SET rows = 0",
    "UPDATE audit_event SET action = 'forged' WHERE id = 1",
    "DELETE FROM audit_event WHERE id = 1",
    "DELETE FROM audit_event",
]


async def test_audit_events_cannot_be_updated_or_deleted(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            insert(AuditEvent),
            [{"user_id": None, "action": "read:test", "object_type": "t", "rows": 3}],
        )
    for statement in STATEMENTS:
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessionmaker.begin() as session:
                await session.execute(text(statement))
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 1
        event = (await session.scalars(select(AuditEvent))).one()
        assert (event.action, event.rows) == ("read:test", 3)
    # Appending still works.
    async with sessionmaker.begin() as session:
        await session.execute(
            insert(AuditEvent),
            [{"user_id": None, "action": "read:test", "object_type": "t", "rows": 1}],
        )
