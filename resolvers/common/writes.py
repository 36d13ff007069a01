"""How every mutation writes: checked, in one transaction, at most once per key.

A mutation's ``write`` runs inside one write transaction; it raises
:class:`Rejected` with typed errors to roll everything back. The idempotency
key is recorded in the same transaction, so a replay returns the first result
(``load``) and a concurrent twin loses the race on the key's primary key — or, when
the winner changed what the twin read (an item's version), is refused, and then
answered as a replay all the same.
Counter bumps are deferred to the end of the transaction (``counters.deferred``).

A write that can be one statement on PostgreSQL (``recordVisit``) passes an
:class:`InOneStatement` as well: there the statement records the key and the
audit line itself and commits on its own — no BEGIN, no COMMIT, no lookup first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import counters
from db.engine import write_transaction
from db.queries import access as access_queries
from db.queries import idempotency as idempotency_queries
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

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


@dataclasses.dataclass(frozen=True)
class Keyed:
    """What a write records besides its rows: its key, and who and which request to audit."""

    user_id: int
    operation: str
    key: str
    request_hash: str
    request_id: str


@dataclasses.dataclass(frozen=True)
class InOneStatement(Generic[T]):
    """A write done by one statement that also inserts its key and audit line (PostgreSQL).

    ``write`` returns None when the statement wrote nothing; unless the key was
    taken, ``refusal`` then says why, with at least one typed error.
    """

    write: Callable[[AsyncSession, Keyed], Awaitable[T | None]]
    refusal: Callable[[AsyncSession], Awaitable[Sequence[InputError]]]


def digest(*parts: object) -> str:
    """A stable digest of a request's input, to tell a replay from a reused key."""

    def default(value: object) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    canonical = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=default)
    return hashlib.sha256(canonical.encode()).hexdigest()


def input_digest(data: DataclassInstance) -> str:
    """The request hash of a keyed input dataclass: every field but its idempotency key."""
    return digest(dataclasses.astuple(dataclasses.replace(data, idempotency_key="")))


M = TypeVar("M")


def row_loader(
    model: type[M], *, fresh: bool = False
) -> Callable[[AsyncSession, int], Awaitable[M]]:
    """``write_once``'s ``load`` for a write whose result is one row of ``model`` (``fresh``:
    read again even when the session holds it)."""

    async def load(session: AsyncSession, row_id: int) -> M:
        row = await session.get(model, row_id, populate_existing=fresh)
        assert row is not None
        return row

    return load


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
    in_one_statement: InOneStatement[T] | None = None,
) -> Outcome[T]:
    """Run ``write`` once for the caller's ``(operation, key)``; it returns (value, id).

    The write, its idempotency key and its audit event commit together or not at all.
    On PostgreSQL, ``in_one_statement`` replaces ``write`` when given.
    """
    if errors := check_key(key):
        return Outcome(errors=tuple(errors))
    user_id = context.access.user_id
    if in_one_statement is not None:
        async with context.sessionmaker() as session:
            if session.get_bind().dialect.name == "postgresql":
                keyed = Keyed(user_id, operation, key, request_hash, context.request_id)
                return await _write_in_one_statement(session, keyed, in_one_statement, load)
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
        # A twin with this key may have committed while this one ran, and changed what
        # it read (an item's version or status): its result is the answer, not a refusal.
        twin = await _twin(context, user_id, operation, key, request_hash, load)
        return twin if twin is not None else Outcome(errors=rejected.errors)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as a replay.
        twin = await _twin(context, user_id, operation, key, request_hash, load)
        if twin is None:
            raise
        return twin
    return Outcome(value=value)


async def _twin(
    context: Context,
    user_id: int,
    operation: str,
    key: str,
    request_hash: str,
    load: Callable[[AsyncSession, int], Awaitable[T]],
) -> Outcome[T] | None:
    """The replay of a committed request with this key, in a session of its own (so it
    sees what committed meanwhile); None when there is none."""
    async with context.sessionmaker() as session:
        first = await idempotency_queries.get(
            session=session, user_id=user_id, operation=operation, key=key
        )
        if first is None:
            return None
        return await _replay(session, first.request_hash, first.result_id, request_hash, load)


async def _write_in_one_statement(
    session: AsyncSession,
    keyed: Keyed,
    how: InOneStatement[T],
    load: Callable[[AsyncSession, int], Awaitable[T]],
) -> Outcome[T]:
    """One statement, committed on its own (autocommit: durable when it answers).

    When it wrote nothing, the key is looked up in a statement of its own, which
    sees a concurrent twin that committed while this one waited on the key.
    """
    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    value = await how.write(session, keyed)
    if value is not None:
        return Outcome(value=value)
    first = await idempotency_queries.get(
        session=session, user_id=keyed.user_id, operation=keyed.operation, key=keyed.key
    )
    if first is not None:
        return await _replay(session, first.request_hash, first.result_id, keyed.request_hash, load)
    return Outcome(errors=tuple(await how.refusal(session)))


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
