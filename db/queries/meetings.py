"""Courtyard meetings and their suggestions, scoped by the meeting's area."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Date, Integer, String, Text, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import counters, scoping
from db.models import Area, AreaLevel, Meeting, Suggestion
from db.scoping import ScopeShape


def visible(scope: ScopeShape) -> ColumnElement[bool]:
    return Meeting.area_id.in_(select(Area.id).where(scoping.clause(scope, Area.path)))


async def get_many(
    *, session: AsyncSession, meeting_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Meeting]:
    statement = select(Meeting).where(Meeting.id.in_(meeting_ids), visible(scope))
    return (await session.scalars(statement)).all()


async def get_suggestions(
    *, session: AsyncSession, suggestion_ids: Sequence[int], scope: ScopeShape
) -> Sequence[Suggestion]:
    meetings = select(Meeting.id).where(visible(scope))
    statement = select(Suggestion).where(
        Suggestion.id.in_(suggestion_ids), Suggestion.meeting_id.in_(meetings)
    )
    return (await session.scalars(statement)).all()


async def list_suggestions(
    *, session: AsyncSession, meeting_ids: Sequence[int]
) -> Sequence[Suggestion]:
    """Suggestions of meetings the caller already sees."""
    statement = (
        select(Suggestion)
        .where(Suggestion.meeting_id.in_(meeting_ids))
        .order_by(Suggestion.meeting_id, Suggestion.id)
    )
    return (await session.scalars(statement)).all()


async def create(
    *,
    session: AsyncSession,
    scope: ScopeShape,
    levels: Sequence[AreaLevel],
    area_id: int,
    held_on: dt.date,
    host_cadre_id: int,
    attendee_count: int,
    topic: str,
    notes: str,
    suggestions: Sequence[str],
) -> Meeting | None:
    """Insert the meeting if its area is in ``scope`` and of ``levels``, in one statement."""
    source = select(
        Area.id,
        literal(held_on, Date()),
        literal(host_cadre_id, Integer()),
        literal(attendee_count, Integer()),
        literal(topic, String()),
        literal(notes, Text()),
    ).where(Area.id == area_id, Area.level.in_(levels), scoping.clause(scope, Area.path))
    statement = (
        insert(Meeting)
        .from_select(
            ["area_id", "held_on", "host_cadre_id", "attendee_count", "topic", "notes"], source
        )
        .returning(Meeting.id)
    )
    meeting_id = await session.scalar(statement)
    if meeting_id is None:
        return None
    session.add_all(Suggestion(meeting_id=meeting_id, content=text) for text in suggestions)
    await session.flush()
    path = await session.scalar(select(Area.path).where(Area.id == area_id))
    assert path is not None
    await counters.meeting_recorded(session, path, len(suggestions))
    return await session.get(Meeting, meeting_id)


async def add_suggestion(
    *,
    session: AsyncSession,
    scope: ScopeShape,
    meeting_id: int,
    content: str,
    household_id: int | None,
) -> Suggestion | None:
    """Insert the suggestion if the meeting is in ``scope``, in one statement."""
    source = (
        select(Meeting.id, literal(content, Text()), literal(household_id, Integer()))
        .join(Area, Area.id == Meeting.area_id)
        .where(Meeting.id == meeting_id, scoping.clause(scope, Area.path))
    )
    statement = (
        insert(Suggestion)
        .from_select(["meeting_id", "content", "household_id"], source)
        .returning(Suggestion.id)
    )
    suggestion_id = await session.scalar(statement)
    if suggestion_id is None:
        return None
    path = await session.scalar(
        select(Area.path).join(Meeting, Meeting.area_id == Area.id).where(Meeting.id == meeting_id)
    )
    assert path is not None
    await counters.suggestion_added(session, path)
    return await session.get(Suggestion, suggestion_id)
