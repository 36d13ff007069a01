"""Courtyard meetings (院坝会) and the suggestions collected at them."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AreaLevel, Meeting, Suggestion
from db.queries import meetings as meeting_queries
from policies.permissions import Act, Obj
from resolvers.common import checks, references
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.pagination import Held
from resolvers.common.writes import Outcome, Rejected, digest, row_loader, write_once

MEETING_PLACES = frozenset({AreaLevel.VILLAGE, AreaLevel.COMMUNITY, AreaLevel.GROUP})
TOPIC_MAX = 200
NOTES_MAX = 5000
SUGGESTION_MAX = 2000
SUGGESTIONS_PER_MEETING = 200
MAX_ATTENDEES = 10_000


async def by_id(context: Context, *, meeting_id: int) -> Meeting | None:
    return await context.loaders.meeting_by_id.load(meeting_id)


async def suggestion_by_id(context: Context, *, suggestion_id: int) -> Suggestion | None:
    return await context.loaders.suggestion_by_id.load(suggestion_id)


async def suggestions(context: Context, meeting: Meeting) -> list[Suggestion]:
    return await context.loaders.suggestions_by_meeting_id.load(meeting.id)


HELD = Held(held_by=Meeting.area_id, key=Meeting.id, obj=Obj.MEETING)  # paged by an area


@dataclasses.dataclass(frozen=True)
class RecordMeetingInput:
    area_id: int | None
    held_on: dt.date
    host_cadre_id: int | None
    attendee_count: int
    topic: str
    notes: str
    suggestions: tuple[str, ...]
    idempotency_key: str


async def record_meeting(context: Context, data: RecordMeetingInput) -> Outcome[Meeting]:
    errors = [
        *checks.not_in_future("heldOn", data.held_on, context.today()),
        *checks.int_range("attendeeCount", data.attendee_count, 0, MAX_ATTENDEES),
        *checks.text("topic", data.topic, max_length=TOPIC_MAX, required=True),
        *checks.text("notes", data.notes, max_length=NOTES_MAX),
    ]
    if len(data.suggestions) > SUGGESTIONS_PER_MEETING:
        errors.append(
            InputError(
                ErrorCode.OUT_OF_RANGE,
                "suggestions",
                f"at most {SUGGESTIONS_PER_MEETING} suggestions per meeting",
            )
        )
    for text in data.suggestions:
        errors += checks.text("suggestions", text, max_length=SUGGESTION_MAX, required=True)
    if errors:
        return Outcome(errors=tuple(errors))

    async def write(session: AsyncSession) -> tuple[Meeting, int]:
        access = context.access
        writable = access.scope(Obj.MEETING, Act.WRITE)
        place = await references.area(session, "areaId", data.area_id, MEETING_PLACES, writable)
        host = await references.cadre(
            session, "hostCadreId", data.host_cadre_id, access.scope(Obj.CADRE), access.cadre_id
        )
        problems = [found for found in (place, host) if isinstance(found, InputError)]
        if problems:
            raise Rejected(*problems)
        assert data.area_id is not None and data.host_cadre_id is not None
        meeting = await meeting_queries.create(
            session=session,
            scope=writable,
            levels=sorted(MEETING_PLACES),
            area_id=data.area_id,
            held_on=data.held_on,
            host_cadre_id=data.host_cadre_id,
            attendee_count=data.attendee_count,
            topic=data.topic,
            notes=data.notes,
            suggestions=data.suggestions,
        )
        if meeting is None:
            raise Rejected(InputError(ErrorCode.UNKNOWN_AREA, "areaId", "no such area"))
        return meeting, meeting.id

    request_hash = digest(
        data.area_id,
        data.held_on,
        data.host_cadre_id,
        data.attendee_count,
        data.topic,
        data.notes,
        data.suggestions,
    )
    return await write_once(
        context,
        operation="recordMeeting",
        object_type="meeting",
        key=data.idempotency_key,
        request_hash=request_hash,
        write=write,
        load=row_loader(Meeting),
    )


@dataclasses.dataclass(frozen=True)
class AddSuggestionInput:
    meeting_id: int | None
    content: str
    household_id: int | None
    household_given: bool
    idempotency_key: str


async def add_suggestion(context: Context, data: AddSuggestionInput) -> Outcome[Suggestion]:
    errors = checks.text("content", data.content, max_length=SUGGESTION_MAX, required=True)
    if errors:
        return Outcome(errors=tuple(errors))

    async def write(session: AsyncSession) -> tuple[Suggestion, int]:
        access = context.access
        writable = access.scope(Obj.MEETING, Act.WRITE)
        unknown = InputError(ErrorCode.UNKNOWN_MEETING, "meetingId", "no such meeting")
        meetings = (
            await meeting_queries.get_many(
                session=session, meeting_ids=[data.meeting_id], scope=writable
            )
            if data.meeting_id is not None
            else []
        )
        if not meetings:
            raise Rejected(unknown)
        if data.household_given:
            place = await references.area(
                session, "meetingId", meetings[0].area_id, frozenset(AreaLevel), writable
            )
            if isinstance(place, InputError):
                raise Rejected(unknown)
            household = await references.household_in(
                session, "householdId", data.household_id, place, access.scope(Obj.HOUSEHOLD)
            )
            if isinstance(household, InputError):
                raise Rejected(household)
        suggestion = await meeting_queries.add_suggestion(
            session=session,
            scope=writable,
            meeting_id=meetings[0].id,
            content=data.content,
            household_id=data.household_id,
        )
        if suggestion is None:
            raise Rejected(unknown)
        return suggestion, suggestion.id

    return await write_once(
        context,
        operation="addSuggestion",
        object_type="suggestion",
        key=data.idempotency_key,
        request_hash=digest(data.meeting_id, data.content, data.household_id),
        write=write,
        load=row_loader(Suggestion),
    )
