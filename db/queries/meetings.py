"""Courtyard meetings and their suggestions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Area, Meeting, Suggestion
from db.queries import areas as area_queries
from db.queries.pagination import Page, fetch_page


async def get_many(*, session: AsyncSession, meeting_ids: Sequence[int]) -> Sequence[Meeting]:
    return (await session.scalars(select(Meeting).where(Meeting.id.in_(meeting_ids)))).all()


async def get_suggestions(
    *, session: AsyncSession, suggestion_ids: Sequence[int]
) -> Sequence[Suggestion]:
    statement = select(Suggestion).where(Suggestion.id.in_(suggestion_ids))
    return (await session.scalars(statement)).all()


async def list_suggestions(
    *, session: AsyncSession, meeting_ids: Sequence[int]
) -> Sequence[Suggestion]:
    statement = (
        select(Suggestion)
        .where(Suggestion.meeting_id.in_(meeting_ids))
        .order_by(Suggestion.meeting_id, Suggestion.id)
    )
    return (await session.scalars(statement)).all()


async def page_in_area(
    *, session: AsyncSession, area: Area, after: int | None, limit: int
) -> Page[Meeting]:
    areas_below = select(Area.id).where(area_queries.in_subtree(area.path))
    statement = select(Meeting).where(Meeting.area_id.in_(areas_below))
    return await fetch_page(
        session=session, statement=statement, key=Meeting.id, after=after, limit=limit
    )


async def create(
    *,
    session: AsyncSession,
    area_id: int,
    held_on: dt.date,
    host_cadre_id: int,
    attendee_count: int,
    topic: str,
    notes: str,
    suggestions: Sequence[str],
) -> Meeting:
    meeting = Meeting(
        area_id=area_id,
        held_on=held_on,
        host_cadre_id=host_cadre_id,
        attendee_count=attendee_count,
        topic=topic,
        notes=notes,
    )
    session.add(meeting)
    await session.flush()
    session.add_all(Suggestion(meeting_id=meeting.id, content=text) for text in suggestions)
    await session.flush()
    return meeting


async def add_suggestion(
    *, session: AsyncSession, meeting_id: int, content: str, household_id: int | None
) -> Suggestion:
    suggestion = Suggestion(meeting_id=meeting_id, content=content, household_id=household_id)
    session.add(suggestion)
    await session.flush()
    return suggestion
