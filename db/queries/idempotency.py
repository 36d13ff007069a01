"""Idempotency keys: the first result of a keyed write, found again on a replay."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IdempotencyKey


async def get(
    *, session: AsyncSession, user_id: int, operation: str, key: str
) -> IdempotencyKey | None:
    statement = select(IdempotencyKey).where(
        IdempotencyKey.user_id == user_id,
        IdempotencyKey.operation == operation,
        IdempotencyKey.key == key,
    )
    return await session.scalar(statement)


async def create(
    *,
    session: AsyncSession,
    user_id: int,
    operation: str,
    key: str,
    request_hash: str,
    result_id: int,
) -> None:
    """Record the key in the write's own transaction; a concurrent twin fails on the key."""
    await session.execute(
        insert(IdempotencyKey).values(
            user_id=user_id,
            operation=operation,
            key=key,
            request_hash=request_hash,
            result_id=result_id,
        )
    )
