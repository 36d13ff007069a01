"""How every mutation writes: checked, in one transaction, at most once per key.

A mutation's ``write`` runs inside one write transaction; it raises
:class:`Rejected` with typed errors to roll everything back. The idempotency
key is recorded in the same transaction, so a replay returns the first result
(``load``) and a concurrent twin loses the race on the key's primary key.
Counter bumps are deferred to the end of the transaction (``counters.deferred``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import counters
from db.engine import write_transaction
from db.queries import access as access_queries
from db.queries import idempotency as idempotency_queries
from resolvers.context import Context
from resolvers.errors import ErrorCode, InputError

T = TypeVar("T")
IDEMPOTENCY_KEY_LENGTH = (8, 128)


class Rejected(Exception):
    """Raised inside a write to roll it back and answer with these errors."""

    def __init__(self, *errors: InputError) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclasses.dataclass(frozen=True)
class Outcome(Generic[T]):
    value: T | None = None
    errors: tuple[InputError, ...] = ()
    replayed: bool = False


def digest(*parts: object) -> str:
    """A stable digest of a request's input, to tell a replay from a reused key."""

    def default(value: object) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> list[InputError]:
    low, high = IDEMPOTENCY_KEY_LENGTH
    if low <= len(key) <= high and key.isprintable():
        return []
    return [
        InputError(
            ErrorCode.INVALID_IDEMPOTENCY_KEY,
            "idempotencyKey",
            f"idempotency key must be {low} to {high} printable characters",
        )
    ]


async def write_once(
    context: Context,
    *,
    operation: str,
    object_type: str,
    key: str,
    request_hash: str,
    write: Callable[[AsyncSession], Awaitable[tuple[T, int]]],
    load: Callable[[AsyncSession, int], Awaitable[T]],
) -> Outcome[T]:
    """Run ``write`` once for the caller's ``(operation, key)``; it returns (value, id).

    The write, its idempotency key and its audit event commit together or not at all.
    """
    if errors := check_key(key):
        return Outcome(errors=tuple(errors))
    user_id = context.access.user_id
    try:
        async with (
            write_transaction(context.sessionmaker) as session,
            counters.deferred(session),
        ):
            first = await idempotency_queries.get(
                session=session, user_id=user_id, operation=operation, key=key
            )
            if first is not None:
                return await _replay(
                    session, first.request_hash, first.result_id, request_hash, load
                )
            value, result_id = await write(session)
            await idempotency_queries.create(
                session=session,
                user_id=user_id,
                operation=operation,
                key=key,
                request_hash=request_hash,
                result_id=result_id,
            )
            await access_queries.record_audit(
                session=session,
                user_id=user_id or None,
                action=operation,
                object_type=object_type,
                object_id=result_id,
                rows=1,
                request_id=context.request_id,
            )
    except Rejected as rejected:
        return Outcome(errors=rejected.errors)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as a replay.
        async with context.sessionmaker() as session:
            first = await idempotency_queries.get(
                session=session, user_id=user_id, operation=operation, key=key
            )
            if first is None:
                raise
            return await _replay(session, first.request_hash, first.result_id, request_hash, load)
    return Outcome(value=value)


async def _replay(
    session: AsyncSession,
    first_hash: str,
    result_id: int,
    request_hash: str,
    load: Callable[[AsyncSession, int], Awaitable[T]],
) -> Outcome[T]:
    if first_hash != request_hash:
        error = InputError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "idempotencyKey",
            "this idempotency key was already used for a different request",
        )
        return Outcome(errors=(error,))
    return Outcome(value=await load(session, result_id), replayed=True)
