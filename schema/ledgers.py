"""Ledger items and their history; the ledger catalog and matrix."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Self

import strawberry
from strawberry.relay import Connection, Node, NodeID

from db.rows import ledgers, models
from resolvers import areas as area_resolvers
from resolvers import cadres as cadre_resolvers
from resolvers import households as household_resolvers
from resolvers import meetings as meeting_resolvers
from resolvers import visits as visit_resolvers
from resolvers.ledgers import reads as ledger_reads
from schema.meetings import Meeting, Suggestion
from schema.relay import by_row_id
from schema.types import Area, Cadre, Department, Household, Info, Visit, cadre_of

strawberry.enum(
    ledgers.Status, name="LedgerStatus", description="Where an item is in its handling."
)
strawberry.enum(ledgers.Resolution, description="How a closed item was closed.")
strawberry.enum(ledgers.Satisfaction, description="The household's rating of the outcome.")
strawberry.enum(ledgers.Action, name="LedgerAction", description="What was done to an item.")
LedgerStatus = ledgers.Status
Resolution = ledgers.Resolution
Satisfaction = ledgers.Satisfaction
LedgerAction = ledgers.Action


ItemSource = Annotated[Visit | Meeting | Suggestion, strawberry.union("LedgerItemSource")]


@strawberry.type(description="One line of an item's history.")
class LedgerItemEvent:
    action: LedgerAction
    occurred_on: dt.date = strawberry.field(description="The day it was done.")
    recorded_at: dt.datetime = strawberry.field(description="When the service recorded it.")
    from_status: LedgerStatus | None
    to_status: LedgerStatus
    note: str
    _row: strawberry.Private[models.LedgerItemEvent]

    @classmethod
    def from_row(cls, row: models.LedgerItemEvent) -> Self:
        recorded = row.recorded_at
        if recorded.tzinfo is None:  # SQLite keeps UTC without the zone
            recorded = recorded.replace(tzinfo=dt.UTC)
        return cls(
            action=row.action,
            occurred_on=row.occurred_on,
            recorded_at=recorded,
            from_status=row.from_status,
            to_status=row.to_status,
            note=row.note,
            _row=row,
        )

    @strawberry.field(description="Who did it.")
    async def actor(self, info: Info) -> Cadre | None:
        actor = await cadre_of(info, self._row.actor_id)
        return actor


@strawberry.type(description="An item of a ledger (台账), with its handling.")
class LedgerItem(Node):
    id: NodeID[int]
    ledger: str = strawberry.field(description="The ledger's key, as in `ledgerCatalog`.")
    category: str = strawberry.field(description="The category's key (needy people: main reason).")
    title: str
    description: str
    received_on: dt.date
    deadline: dt.date = strawberry.field(description="Counted in working days (China's calendar).")
    deadline_provisional: bool = strawberry.field(
        description="The deadline crosses a year the official calendar does not cover yet "
        "(counted Monday–Friday until it does)."
    )
    status: LedgerStatus
    method: str | None
    plan: str | None
    resolution: Resolution | None
    escalated_to: str | None = strawberry.field(description="The higher body it was reported to.")
    decline_reason: str | None
    closed_on: dt.date | None
    satisfaction: Satisfaction | None
    version: int = strawberry.field(description="Goes up with every change.")
    _row: strawberry.Private[models.LedgerItem]

    resolve_node = by_row_id(lambda context, row_id: ledger_reads.by_id(context, item_id=row_id))

    @classmethod
    def from_row(cls, row: models.LedgerItem) -> Self:
        return cls(
            id=row.id,
            ledger=row.ledger.value,
            category=row.category,
            title=row.title,
            description=row.description,
            received_on=row.received_on,
            deadline=row.deadline,
            deadline_provisional=row.deadline_provisional,
            status=row.status,
            method=row.method,
            plan=row.plan,
            resolution=row.resolution,
            escalated_to=row.escalated_to,
            decline_reason=row.decline_reason,
            closed_on=row.closed_on,
            satisfaction=row.satisfaction,
            version=row.version,
            _row=row,
        )

    @strawberry.field(description="The reasons of a needy household (several possible).")
    async def reasons(self, info: Info) -> list[str]:
        return await ledger_reads.reasons(info.context, self._row)

    @strawberry.field(description="Open on `asOf` (default today) and past its deadline.")
    def overdue(self, info: Info, as_of: dt.date | None = None) -> bool:
        return ledger_reads.is_overdue(self._row, as_of or info.context.today())

    @strawberry.field(description="The area that holds the item now.")
    async def area(self, info: Info) -> Area | None:
        row = await area_resolvers.by_id(info.context, area_id=self._row.area_id)
        return Area.from_row(row) if row else None

    @strawberry.field
    async def department(self, info: Info) -> Department | None:
        if self._row.department_id is None:
            return None
        row = await cadre_resolvers.department_by_id(
            info.context, department_id=self._row.department_id
        )
        return Department.from_row(row) if row else None

    @strawberry.field
    async def household(self, info: Info) -> Household | None:
        if self._row.household_id is None:
            return None
        row = await household_resolvers.by_id(info.context, household_id=self._row.household_id)
        return Household.from_row(row) if row else None

    @strawberry.field(description="The first-contact owner (首问责任人): who received it.")
    async def received_by(self, info: Info) -> Cadre | None:
        cadre = await cadre_of(info, self._row.received_by_id)
        return cadre

    @strawberry.field(description="Who is responsible for handling it now.")
    async def responsible(self, info: Info) -> Cadre | None:
        return await cadre_of(info, self._row.responsible_id)

    @strawberry.field(description="The visit, meeting or suggestion it came from.")
    async def source(self, info: Info) -> ItemSource | None:
        row = self._row
        if row.source_visit_id is not None:
            visit = await visit_resolvers.by_id(info.context, visit_id=row.source_visit_id)
            return Visit.from_row(visit) if visit else None
        if row.source_meeting_id is not None:
            meeting = await meeting_resolvers.by_id(info.context, meeting_id=row.source_meeting_id)
            return Meeting.from_row(meeting) if meeting else None
        if row.source_suggestion_id is not None:
            suggestion = await meeting_resolvers.suggestion_by_id(
                info.context, suggestion_id=row.source_suggestion_id
            )
            return Suggestion.from_row(suggestion) if suggestion else None
        return None

    @strawberry.field(description="Every transition, oldest first.")
    async def history(self, info: Info) -> list[LedgerItemEvent]:
        rows = await ledger_reads.history(info.context, self._row)
        return [LedgerItemEvent.from_row(row) for row in rows]


@strawberry.type(description="A page of ledger items.")
class LedgerItemConnection(Connection[LedgerItem]):
    _spec: strawberry.Private[ledger_reads.LedgerFilter]

    @strawberry.field(description="How many items the filter matches in all.")
    async def total_count(self, info: Info) -> int:
        return await ledger_reads.count(info.context, self._spec)

    @strawberry.field(
        description="True when some ledger of the view is visible to you over only part of "
        "the area: the items and counts then cover that part."
    )
    def partial(self, info: Info) -> bool:
        return ledger_reads.is_partial(info.context, self._spec)


@strawberry.type(description="One cell of the ledger matrix: items of a category in a status.")
class MatrixCell:
    ledger: str
    category: str
    status: LedgerStatus
    count: int


@strawberry.type(description="A category of a ledger.")
class LedgerCategory:
    key: str
    name: str


@strawberry.type(description="A ledger kind the caller may see, with its categories.")
class LedgerKind:
    key: str
    name: str
    categories: list[LedgerCategory]
    department_ledger: bool
    deadline_working_days: int


@strawberry.input(description="Which ledger items; every part optional.")
class LedgerItemFilter:
    ledgers: list[str] | None = None
    categories: list[str] | None = None
    statuses: list[LedgerStatus] | None = None
    overdue: bool | None = strawberry.field(
        default=None, description="Only overdue (true) or only not overdue (false) on `asOf`."
    )
    as_of: dt.date | None = strawberry.field(default=None, description="Default today.")
    responsible_id: strawberry.ID | None = None
    received_from: dt.date | None = None
    received_to: dt.date | None = None
