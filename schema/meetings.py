"""Courtyard meetings (院坝会) and the suggestions collected at them."""

from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry.relay import Node, NodeID

from db.rows import models
from resolvers import areas as area_resolvers
from resolvers import households as household_resolvers
from resolvers import meetings as meeting_resolvers
from schema.relay import by_row_id
from schema.types import Area, Cadre, Household, Info, cadre_of


@strawberry.type(description="A suggestion collected at a courtyard meeting (意见建议).")
class Suggestion(Node):
    id: NodeID[int]
    content: str
    _row: strawberry.Private[models.Suggestion]

    resolve_node = by_row_id(
        lambda context, row_id: meeting_resolvers.suggestion_by_id(context, suggestion_id=row_id)
    )

    @classmethod
    def from_row(cls, row: models.Suggestion) -> Self:
        return cls(id=row.id, content=row.content, _row=row)

    @strawberry.field
    async def meeting(self, info: Info) -> Meeting | None:
        row = await meeting_resolvers.by_id(info.context, meeting_id=self._row.meeting_id)
        return Meeting.from_row(row) if row else None

    @strawberry.field(description="The household that made it, when one did.")
    async def household(self, info: Info) -> Household | None:
        if self._row.household_id is None:
            return None
        row = await household_resolvers.by_id(info.context, household_id=self._row.household_id)
        return Household.from_row(row) if row else None


@strawberry.type(description="A courtyard meeting (院坝会).")
class Meeting(Node):
    id: NodeID[int]
    held_on: dt.date
    attendee_count: int
    topic: str
    notes: str
    _row: strawberry.Private[models.Meeting]

    resolve_node = by_row_id(
        lambda context, row_id: meeting_resolvers.by_id(context, meeting_id=row_id)
    )

    @classmethod
    def from_row(cls, row: models.Meeting) -> Self:
        return cls(
            id=row.id,
            held_on=row.held_on,
            attendee_count=row.attendee_count,
            topic=row.topic,
            notes=row.notes,
            _row=row,
        )

    @strawberry.field(description="The village, community or group where it was held.")
    async def area(self, info: Info) -> Area | None:
        row = await area_resolvers.by_id(info.context, area_id=self._row.area_id)
        return Area.from_row(row) if row else None

    @strawberry.field(description="The cadre who led it.")
    async def host(self, info: Info) -> Cadre | None:
        host = await cadre_of(info, self._row.host_cadre_id)
        return host

    @strawberry.field
    async def suggestions(self, info: Info) -> list[Suggestion]:
        rows = await meeting_resolvers.suggestions(info.context, self._row)
        return [Suggestion.from_row(row) for row in rows]
