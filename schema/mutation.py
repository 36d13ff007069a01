"""The root Mutation: writes, each returning a payload with typed errors."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import visits as visit_resolvers
from schema.errors import RecordVisitError, from_input_error
from schema.relay import decode_id
from schema.types import Info, Visit


@strawberry.input(description="A visit to record.")
class RecordVisitInput:
    household_id: strawberry.ID
    cadre_id: strawberry.ID
    visited_on: dt.date = strawberry.field(description="The day of the visit; not after today.")
    idempotency_key: str = strawberry.field(
        description="Chosen by the client, 8–128 characters, unique per visit: sending the "
        "same key again returns the first result and writes nothing."
    )
    notes: str = strawberry.field(
        default="", description="What was said; at most 2,000 characters."
    )


@strawberry.type
class RecordVisitPayload:
    visit: Visit | None = strawberry.field(description="The visit; null when there are errors.")
    errors: list[RecordVisitError]
    replayed: bool = strawberry.field(
        description="True when this key was seen before: the visit is the first result."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Record a cadre's visit to a household, once per key.")
    async def record_visit(self, info: Info, input: RecordVisitInput) -> RecordVisitPayload:
        result = await visit_resolvers.record_visit(
            info.context,
            visit_resolvers.RecordVisitInput(
                household_id=decode_id(input.household_id, "Household"),
                cadre_id=decode_id(input.cadre_id, "Cadre"),
                visited_on=input.visited_on,
                notes=input.notes,
                idempotency_key=input.idempotency_key,
            ),
        )
        return RecordVisitPayload(
            visit=Visit.from_row(result.visit) if result.visit else None,
            errors=[from_input_error(e) for e in result.errors],  # type: ignore[misc]
            replayed=result.replayed,
        )
