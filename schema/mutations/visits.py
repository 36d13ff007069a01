"""``recordVisit``: a routine or condolence visit, once per idempotency key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import strawberry

from resolvers import visits as visit_resolvers
from schema.errors import RecordVisitError, from_input_errors
from schema.relay import decode_id
from schema.types import Info, Visit, VisitKind

IDEMPOTENCY_KEY_HELP = (
    "Chosen by the client, 8–128 characters, unique per request: sending the same key "
    "again returns the first result and writes nothing."
)


@strawberry.input(description="A visit to record.")
class RecordVisitInput:
    household_id: strawberry.ID
    cadre_id: strawberry.ID
    visited_on: dt.date = strawberry.field(description="The day of the visit; not after today.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY_HELP)
    notes: str = strawberry.field(
        default="", description="What was said; at most 2,000 characters."
    )
    kind: VisitKind = VisitKind.ROUTINE
    condolence_amount: Decimal | None = strawberry.field(
        default=None, description="Condolence visits only: yuan given, 0–1,000,000, to the fen."
    )
    people_visited: int | None = strawberry.field(
        default=None, description="Condolence visits only: people visited, 1–100."
    )


@strawberry.type
class RecordVisitPayload:
    visit: Visit | None = strawberry.field(description="The visit; null when there are errors.")
    errors: list[RecordVisitError]
    replayed: bool = strawberry.field(
        description="True when this key was seen before: the visit is the first result."
    )


@strawberry.type
class VisitMutations:
    @strawberry.mutation(description="Record a cadre's visit to a household, once per key.")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> RecordVisitPayload:
        outcome = await visit_resolvers.record_visit(
            info.context,
            visit_resolvers.RecordVisitInput(
                household_id=decode_id(input.household_id, "Household"),
                cadre_id=decode_id(input.cadre_id, "Cadre"),
                visited_on=input.visited_on,
                notes=input.notes,
                idempotency_key=input.idempotency_key,
                kind=input.kind,
                condolence_yuan=input.condolence_amount,
                people_visited=input.people_visited,
            ),
        )
        return RecordVisitPayload(
            visit=Visit.from_row(outcome.value) if outcome.value else None,
            errors=from_input_errors(outcome.errors),
            replayed=outcome.replayed,
        )


@strawberry.input(description="One visit of a batch.")
class BatchVisitInput:
    household_id: strawberry.ID
    cadre_id: strawberry.ID
    visited_on: dt.date
    notes: str = ""
    kind: VisitKind = VisitKind.ROUTINE
    condolence_amount: Decimal | None = None
    people_visited: int | None = None


@strawberry.type
class RecordVisitsPayload:
    recorded: int = strawberry.field(description="Visits written; 0 when there are errors.")
    errors: list[RecordVisitError]
    replayed: bool


@strawberry.type
class BatchVisitMutations:
    @strawberry.mutation(
        description="Record up to 5,000 visits at once: all or none, once per key. Errors name "
        "the entry, e.g. `visits.3.householdId`."
    )
    async def record_visits(
        self, info: Info, visits: list[BatchVisitInput], idempotency_key: str
    ) -> RecordVisitsPayload:
        entries = [
            visit_resolvers.RecordVisitInput(
                household_id=decode_id(v.household_id, "Household"),
                cadre_id=decode_id(v.cadre_id, "Cadre"),
                visited_on=v.visited_on,
                notes=v.notes,
                idempotency_key=idempotency_key,
                kind=v.kind,
                condolence_yuan=v.condolence_amount,
                people_visited=v.people_visited,
            )
            for v in visits
        ]
        outcome = await visit_resolvers.record_visits(info.context, entries, idempotency_key)
        return RecordVisitsPayload(
            recorded=outcome.value.recorded if outcome.value else 0,
            errors=from_input_errors(outcome.errors),
            replayed=outcome.replayed,
        )
