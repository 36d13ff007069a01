"""Visits: by id, pages per household or cadre, and ``recordVisit`` with idempotency."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import write_transaction
from db.models import Visit
from db.queries import cadres as cadre_queries
from db.queries import households as household_queries
from db.queries import idempotency as idempotency_queries
from db.queries import visits as visit_queries
from db.queries.pagination import Page
from resolvers.context import Context
from resolvers.errors import ErrorCode, InputError
from resolvers.pagination import page_request

RECORD_VISIT = "recordVisit"
NOTES_MAX_LENGTH = 2000
IDEMPOTENCY_KEY_LENGTH = (8, 128)


async def by_id(context: Context, *, visit_id: int) -> Visit | None:
    return await context.loaders.visit_by_id.load(visit_id)


async def page(
    context: Context,
    *,
    household_id: int | None = None,
    cadre_id: int | None = None,
    first: int | None,
    after: str | None,
) -> Page[Visit]:
    request = page_request(context, first=first, after=after)
    async with context.reading() as session:
        return await visit_queries.page(
            session=session,
            household_id=household_id,
            cadre_id=cadre_id,
            after=request.after,
            limit=request.limit,
        )


@dataclasses.dataclass(frozen=True)
class RecordVisitInput:
    """``household_id``/``cadre_id`` are None when the given id named no such object."""

    household_id: int | None
    cadre_id: int | None
    visited_on: dt.date
    notes: str
    idempotency_key: str

    def digest(self) -> str:
        canonical = json.dumps(
            [self.household_id, self.cadre_id, self.visited_on.isoformat(), self.notes],
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class RecordVisitResult:
    visit: Visit | None = None
    errors: tuple[InputError, ...] = ()
    replayed: bool = False


async def record_visit(context: Context, data: RecordVisitInput) -> RecordVisitResult:
    """Record a visit once per idempotency key; a replay returns the first visit.

    Everything is checked before anything is written, and the visit and its key
    are written in one transaction: an error or a lost race writes nothing.
    """
    errors = _check_input(context, data)
    if errors:
        return RecordVisitResult(errors=tuple(errors))
    try:
        async with write_transaction(context.sessionmaker) as session:
            first = await idempotency_queries.get(
                session=session, operation=RECORD_VISIT, key=data.idempotency_key
            )
            if first is not None:
                return await _replay(session, data, first.request_hash, first.result_id)
            errors = await _check_references(session, data)
            if errors:
                return RecordVisitResult(errors=tuple(errors))
            assert data.household_id is not None and data.cadre_id is not None
            visit = await visit_queries.create(
                session=session,
                cadre_id=data.cadre_id,
                household_id=data.household_id,
                visited_on=data.visited_on,
                notes=data.notes,
            )
            await idempotency_queries.create(
                session=session,
                operation=RECORD_VISIT,
                key=data.idempotency_key,
                request_hash=data.digest(),
                result_id=visit.id,
            )
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as a replay.
        async with context.sessionmaker() as session:
            first = await idempotency_queries.get(
                session=session, operation=RECORD_VISIT, key=data.idempotency_key
            )
            if first is None:
                raise
            return await _replay(session, data, first.request_hash, first.result_id)
    return RecordVisitResult(visit=visit)


async def _replay(
    session: AsyncSession, data: RecordVisitInput, request_hash: str, visit_id: int
) -> RecordVisitResult:
    if request_hash != data.digest():
        error = InputError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "idempotencyKey",
            "this idempotency key was already used for a different visit",
        )
        return RecordVisitResult(errors=(error,))
    visits = await visit_queries.get_many(session=session, visit_ids=[visit_id])
    return RecordVisitResult(visit=visits[0], replayed=True)


def _check_input(context: Context, data: RecordVisitInput) -> list[InputError]:
    errors = []
    low, high = IDEMPOTENCY_KEY_LENGTH
    if not low <= len(data.idempotency_key) <= high or not data.idempotency_key.isprintable():
        errors.append(
            InputError(
                ErrorCode.INVALID_IDEMPOTENCY_KEY,
                "idempotencyKey",
                f"idempotency key must be {low} to {high} printable characters",
            )
        )
    if data.visited_on > context.today():
        errors.append(
            InputError(
                ErrorCode.DATE_IN_FUTURE,
                "visitedOn",
                f"visit date {data.visited_on.isoformat()} is after today",
            )
        )
    if len(data.notes) > NOTES_MAX_LENGTH:
        errors.append(
            InputError(
                ErrorCode.TEXT_TOO_LONG,
                "notes",
                f"notes may be at most {NOTES_MAX_LENGTH} characters",
            )
        )
    return errors


async def _check_references(session: AsyncSession, data: RecordVisitInput) -> list[InputError]:
    errors = []
    households = (
        await household_queries.get_many(session=session, household_ids=[data.household_id])
        if data.household_id is not None
        else []
    )
    if not households:
        errors.append(InputError(ErrorCode.UNKNOWN_HOUSEHOLD, "householdId", "no such household"))
    cadres = (
        await cadre_queries.get_many(session=session, cadre_ids=[data.cadre_id])
        if data.cadre_id is not None
        else []
    )
    if not cadres:
        errors.append(InputError(ErrorCode.UNKNOWN_CADRE, "cadreId", "no such cadre"))
    return errors
