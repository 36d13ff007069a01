"""Visits: by id, pages per household or cadre, and ``recordVisit`` (routine or condolence)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Visit, VisitKind
from db.queries import cadres as cadre_queries
from db.queries import visits as visit_queries
from db.queries.pagination import Page
from policies.permissions import Act, Obj
from resolvers.common import checks, references
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.pagination import page_request
from resolvers.common.writes import (
    InOneStatement,
    Keyed,
    Outcome,
    Rejected,
    digest,
    row_loader,
    write_once,
)

RECORD_VISIT = "recordVisit"
NOTES_MAX_LENGTH = 2000
MAX_CONDOLENCE_YUAN = Decimal(1_000_000)
MAX_PEOPLE_VISITED = 100


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
            scope=context.access.scope(Obj.VISIT),
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
    kind: VisitKind = VisitKind.ROUTINE
    condolence_yuan: Decimal | None = None
    people_visited: int | None = None


async def record_visit(context: Context, data: RecordVisitInput) -> Outcome[Visit]:
    """Record a visit once per idempotency key; a replay returns the first visit.

    Everything is checked before anything is written, and the visit, its key,
    audit line and counters are written in one transaction: an error or a lost
    race writes nothing. On PostgreSQL that transaction is one statement
    (``visit_queries.record``); on SQLite, a few.
    """
    errors = _check_input(context, data)
    if errors:
        return Outcome(errors=tuple(errors))
    fen = _fen(data.condolence_yuan)
    access = context.access

    async def write_in_one_statement(session: AsyncSession, keyed: Keyed) -> Visit | None:
        if data.household_id is None or data.cadre_id is None:
            return None  # an id that named no such object: refused below
        return await visit_queries.record(
            session=session,
            scope=access.scope(Obj.VISIT, Act.WRITE),
            cadre_scope=access.scope(Obj.CADRE),
            self_id=access.cadre_id,
            user_id=keyed.user_id,
            operation=keyed.operation,
            key=keyed.key,
            request_hash=keyed.request_hash,
            request_id=keyed.request_id,
            cadre_id=data.cadre_id,
            household_id=data.household_id,
            visited_on=data.visited_on,
            notes=data.notes,
            kind=data.kind,
            condolence_fen=fen,
            people_visited=data.people_visited,
        )

    async def refusal(session: AsyncSession) -> list[InputError]:
        try:
            await _check_references(context, session, data)
        except Rejected as rejected:
            return list(rejected.errors)
        return [UNKNOWN_HOUSEHOLD]  # the household left the caller's scope meanwhile

    async def write(session: AsyncSession) -> tuple[Visit, int]:
        await _check_references(context, session, data)
        assert data.household_id is not None and data.cadre_id is not None
        visit = await visit_queries.create(
            session=session,
            scope=access.scope(Obj.VISIT, Act.WRITE),
            cadre_id=data.cadre_id,
            household_id=data.household_id,
            visited_on=data.visited_on,
            notes=data.notes,
            kind=data.kind,
            condolence_fen=fen,
            people_visited=data.people_visited,
        )
        if visit is None:  # the household left the caller's scope meanwhile
            raise Rejected(UNKNOWN_HOUSEHOLD)
        return visit, visit.id

    request_hash = digest(
        data.household_id,
        data.cadre_id,
        data.visited_on,
        data.notes,
        data.kind,
        fen,
        data.people_visited,
    )
    return await write_once(
        context,
        operation=RECORD_VISIT,
        object_type="visit",
        key=data.idempotency_key,
        request_hash=request_hash,
        write=write,
        load=row_loader(Visit),
        in_one_statement=InOneStatement(write_in_one_statement, refusal),
    )


def _fen(yuan: Decimal | None) -> int | None:
    """Yuan (checked: to the fen) as integer fen, as stored."""
    return None if yuan is None else int(yuan * 100)


def _check_input(context: Context, data: RecordVisitInput) -> list[InputError]:
    errors = [
        *checks.not_in_future("visitedOn", data.visited_on, context.today()),
        *checks.text("notes", data.notes, max_length=NOTES_MAX_LENGTH),
    ]
    if data.kind is VisitKind.CONDOLENCE:
        amount = data.condolence_yuan
        if amount is None:
            errors.append(
                InputError(ErrorCode.REQUIRED, "condolenceAmount", "a condolence visit needs it")
            )
        elif (
            not amount.is_finite()
            or not 0 <= amount <= MAX_CONDOLENCE_YUAN
            or amount != amount.quantize(Decimal("0.01"))
        ):
            errors.append(
                InputError(
                    ErrorCode.OUT_OF_RANGE,
                    "condolenceAmount",
                    f"amount must be 0 to {MAX_CONDOLENCE_YUAN} yuan, to the fen",
                )
            )
        if data.people_visited is None:
            errors.append(
                InputError(ErrorCode.REQUIRED, "peopleVisited", "a condolence visit needs it")
            )
        else:
            errors += checks.int_range("peopleVisited", data.people_visited, 1, MAX_PEOPLE_VISITED)
    else:
        for field, value in (
            ("condolenceAmount", data.condolence_yuan),
            ("peopleVisited", data.people_visited),
        ):
            if value is not None:
                errors.append(
                    InputError(ErrorCode.NOT_ALLOWED_HERE, field, "only condolence visits carry it")
                )
    return errors


UNKNOWN_HOUSEHOLD = InputError(ErrorCode.UNKNOWN_HOUSEHOLD, "householdId", "no such household")


async def _check_references(
    context: Context, session: AsyncSession, data: RecordVisitInput
) -> None:
    """The household must be one the caller may record visits to; the cadre one they see."""
    access = context.access
    errors: list[InputError] = []
    household = await references.household_in(
        session, "householdId", data.household_id, None, access.scope(Obj.VISIT, Act.WRITE)
    )
    if isinstance(household, InputError):
        errors.append(UNKNOWN_HOUSEHOLD)
    cadre = await references.cadre(
        session, "cadreId", data.cadre_id, access.scope(Obj.CADRE), access.cadre_id
    )
    if isinstance(cadre, InputError):
        errors.append(cadre)
    if errors:
        raise Rejected(*errors)


MAX_BATCH = 5000


@dataclasses.dataclass(frozen=True)
class BatchResult:
    recorded: int


async def record_visits(
    context: Context, entries: list[RecordVisitInput], idempotency_key: str
) -> Outcome[BatchResult]:
    """Record many visits at once: all of them or none, once per key.

    Each entry is checked as ``recordVisit`` checks one; errors name the entry
    (``visits.3.householdId``). Households are checked against the caller's
    write scope in one query, and the visits inserted in bulk.
    """
    if not 1 <= len(entries) <= MAX_BATCH:
        error = InputError(ErrorCode.OUT_OF_RANGE, "visits", f"1 to {MAX_BATCH} visits per batch")
        return Outcome(errors=(error,))
    errors: list[InputError] = []
    for index, entry in enumerate(entries):
        for error in _check_input(context, entry):
            errors.append(dataclasses.replace(error, field=f"visits.{index}.{error.field}"))
    if errors:
        return Outcome(errors=tuple(errors))

    async def write(session: AsyncSession) -> tuple[BatchResult, int]:
        access = context.access
        households = await visit_queries.households_in(
            session=session,
            scope=access.scope(Obj.VISIT, Act.WRITE),
            household_ids=[e.household_id for e in entries if e.household_id is not None],
        )
        cadre_ids = sorted({e.cadre_id for e in entries if e.cadre_id is not None})
        cadres = {
            c.id
            for c in await cadre_queries.get_many(
                session=session,
                cadre_ids=cadre_ids,
                scope=access.scope(Obj.CADRE),
                self_id=access.cadre_id,
            )
        }
        problems: list[InputError] = []
        for index, entry in enumerate(entries):
            if entry.household_id not in households:
                problems.append(
                    InputError(
                        ErrorCode.UNKNOWN_HOUSEHOLD,
                        f"visits.{index}.householdId",
                        "no such household",
                    )
                )
            if entry.cadre_id not in cadres:
                problems.append(
                    InputError(ErrorCode.UNKNOWN_CADRE, f"visits.{index}.cadreId", "no such cadre")
                )
        if problems:
            raise Rejected(*problems)
        ids = await visit_queries.create_many(
            session=session,
            rows=[
                {
                    "cadre_id": e.cadre_id,
                    "household_id": e.household_id,
                    "visited_on": e.visited_on,
                    "notes": e.notes,
                    "kind": e.kind,
                    "condolence_fen": _fen(e.condolence_yuan),
                    "people_visited": e.people_visited,
                }
                for e in entries
            ],
        )
        return BatchResult(len(ids)), len(ids)

    async def load(_session: AsyncSession, recorded: int) -> BatchResult:
        return BatchResult(recorded)

    request_hash = digest(
        [dataclasses.astuple(dataclasses.replace(e, idempotency_key="")) for e in entries]
    )
    return await write_once(
        context,
        operation="recordVisits",
        object_type="visit_batch",
        key=idempotency_key,
        request_hash=request_hash,
        write=write,
        load=load,
    )
