"""``recordMeeting`` and ``addSuggestion``: courtyard meetings and what they collected."""

from __future__ import annotations

import datetime as dt

import strawberry

from resolvers import meetings as meeting_resolvers
from schema.errors import AddSuggestionError, RecordMeetingError, from_input_errors
from schema.meetings import Meeting, Suggestion
from schema.mutations.visits import IDEMPOTENCY_KEY_HELP
from schema.relay import decode_id
from schema.types import Info


@strawberry.input(description="A courtyard meeting to record, with the suggestions collected.")
class RecordMeetingInput:
    area_id: strawberry.ID = strawberry.field(description="A village, community or group.")
    held_on: dt.date
    host_cadre_id: strawberry.ID
    attendee_count: int
    topic: str
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY_HELP)
    notes: str = ""
    suggestions: list[str] = strawberry.field(default_factory=list)


@strawberry.type
class RecordMeetingPayload:
    meeting: Meeting | None
    errors: list[RecordMeetingError]
    replayed: bool


@strawberry.input(description="A suggestion to add to a meeting.")
class AddSuggestionInput:
    meeting_id: strawberry.ID
    content: str
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY_HELP)
    household_id: strawberry.ID | None = strawberry.field(
        default=None, description="The household that made it; in the meeting's area."
    )


@strawberry.type
class AddSuggestionPayload:
    suggestion: Suggestion | None
    errors: list[AddSuggestionError]
    replayed: bool


@strawberry.type
class MeetingMutations:
    @strawberry.mutation(description="Record a courtyard meeting (院坝会), once per key.")
    async def record_meeting(self, info: Info, input: RecordMeetingInput) -> RecordMeetingPayload:
        outcome = await meeting_resolvers.record_meeting(
            info.context,
            meeting_resolvers.RecordMeetingInput(
                area_id=decode_id(input.area_id, "Area"),
                held_on=input.held_on,
                host_cadre_id=decode_id(input.host_cadre_id, "Cadre"),
                attendee_count=input.attendee_count,
                topic=input.topic,
                notes=input.notes,
                suggestions=tuple(input.suggestions),
                idempotency_key=input.idempotency_key,
            ),
        )
        return RecordMeetingPayload(
            meeting=Meeting.from_row(outcome.value) if outcome.value else None,
            errors=from_input_errors(outcome.errors),
            replayed=outcome.replayed,
        )

    @strawberry.mutation(description="Add a suggestion collected at a meeting, once per key.")
    async def add_suggestion(self, info: Info, input: AddSuggestionInput) -> AddSuggestionPayload:
        household_given = input.household_id is not None
        outcome = await meeting_resolvers.add_suggestion(
            info.context,
            meeting_resolvers.AddSuggestionInput(
                meeting_id=decode_id(input.meeting_id, "Meeting"),
                content=input.content,
                household_id=(
                    decode_id(input.household_id, "Household")
                    if input.household_id is not None
                    else None
                ),
                household_given=household_given,
                idempotency_key=input.idempotency_key,
            ),
        )
        return AddSuggestionPayload(
            suggestion=Suggestion.from_row(outcome.value) if outcome.value else None,
            errors=from_input_errors(outcome.errors),
            replayed=outcome.replayed,
        )
