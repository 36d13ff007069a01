"""Ledger items: ``recordLedgerItem`` and one mutation per handling action."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import strawberry

from db.rows import ledgers
from resolvers.common.references import Ref
from resolvers.ledgers import handling as ledger_handling
from resolvers.ledgers import recording as ledger_recording
from schema.errors import LedgerItemActionError, RecordLedgerItemError, from_input_errors
from schema.ledgers import LedgerItem, Satisfaction
from schema.mutations.visits import IDEMPOTENCY_KEY_HELP
from schema.relay import decode_id
from schema.types import Info


def _ref(value: strawberry.ID | None, type_name: str) -> Ref:
    return Ref() if value is None else Ref(given=True, id=decode_id(value, type_name))


@strawberry.input(description="An item received into a ledger (受理).")
class RecordLedgerItemInput:
    ledger: str = strawberry.field(description="A ledger key from `ledgerCatalog`.")
    title: str
    received_on: dt.date
    received_by_id: strawberry.ID = strawberry.field(
        description="The receiving cadre: the first-contact owner (首问责任人)."
    )
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY_HELP)
    category: str | None = strawberry.field(
        default=None, description="A category key; needy-people ledgers: defaults to reasons[0]."
    )
    reasons: list[str] = strawberry.field(
        default_factory=list, description="Needy-people ledgers: one or more reasons."
    )
    area_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Village ledgers: the village, community or group. Department ledgers: "
        "optional, an area of the department's county (default the county).",
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Department ledgers: the department."
    )
    household_id: strawberry.ID | None = strawberry.field(
        default=None, description="The household it concerns, inside the area."
    )
    source_visit_id: strawberry.ID | None = None
    source_meeting_id: strawberry.ID | None = None
    source_suggestion_id: strawberry.ID | None = None
    description: str = ""


@strawberry.type
class LedgerItemPayload:
    item: LedgerItem | None
    errors: list[LedgerItemActionError]
    replayed: bool


@strawberry.type
class RecordLedgerItemPayload:
    item: LedgerItem | None
    errors: list[RecordLedgerItemError]
    replayed: bool


@strawberry.input(description="What every handling action takes.")
class LedgerItemActionInput:
    item_id: strawberry.ID
    actor_id: strawberry.ID = strawberry.field(description="The cadre who does it.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY_HELP)
    on: dt.date | None = strawberry.field(
        default=None, description="The day it was done: default today, not before receipt."
    )
    note: str = ""


@strawberry.input(description="Hand the item to a responsible cadre with a method (交办).")
class AssignLedgerItemInput(LedgerItemActionInput):
    responsible_id: strawberry.ID
    method: str


@strawberry.input(description="Make a handling plan (形成处理方案).")
class MakeLedgerItemPlanInput(LedgerItemActionInput):
    plan: str
    due_on: dt.date | None = strawberry.field(
        default=None, description="When the plan will be carried out: the new deadline."
    )


@strawberry.input(description="Report the item up to a higher body (上报): one of the two.")
class EscalateLedgerItemInput(LedgerItemActionInput):
    to_area_id: strawberry.ID | None = strawberry.field(
        default=None, description="An area above the item's area."
    )
    to_department_id: strawberry.ID | None = strawberry.field(
        default=None, description="A department of the county."
    )


@strawberry.input(description="Answer that policy does not allow it, with the reason (合理答复).")
class DeclineLedgerItemInput(LedgerItemActionInput):
    reason: str


@strawberry.input(description="The household's rating of a closed item; dissatisfied reopens it.")
class RateLedgerItemInput(LedgerItemActionInput):
    satisfaction: Satisfaction


async def _act(
    info: Info, action: ledgers.Action, given: LedgerItemActionInput
) -> LedgerItemPayload:
    data = ledger_handling.TransitionInput(
        action=action,
        item_id=decode_id(given.item_id, "LedgerItem"),
        actor_id=decode_id(given.actor_id, "Cadre"),
        on=given.on,
        note=given.note,
        idempotency_key=given.idempotency_key,
    )
    if isinstance(given, AssignLedgerItemInput):
        data = _with(data, responsible_id=_ref(given.responsible_id, "Cadre"), method=given.method)
    elif isinstance(given, MakeLedgerItemPlanInput):
        data = _with(data, plan=given.plan, due_on=given.due_on)
    elif isinstance(given, EscalateLedgerItemInput):
        data = _with(
            data,
            to_area=_ref(given.to_area_id, "Area"),
            to_department=_ref(given.to_department_id, "Department"),
        )
    elif isinstance(given, DeclineLedgerItemInput):
        data = _with(data, reason=given.reason)
    elif isinstance(given, RateLedgerItemInput):
        data = _with(data, satisfaction=given.satisfaction)
    outcome = await ledger_handling.transition(info.context, data)
    return LedgerItemPayload(
        item=LedgerItem.from_row(outcome.value) if outcome.value else None,
        errors=from_input_errors(outcome.errors),
        replayed=outcome.replayed,
    )


def _with(data: ledger_handling.TransitionInput, **changes: Any) -> ledger_handling.TransitionInput:
    return dataclasses.replace(data, **changes)


DESCRIPTIONS = {
    ledgers.Action.ASSIGN: "Assign (交办): responsible cadre and method.",
    ledgers.Action.RESOLVE_ON_THE_SPOT: "Solved on the spot (就地解决): closes the item.",
    ledgers.Action.MAKE_PLAN: "A handling plan was made within the time limit.",
    ledgers.Action.COMPLETE: "The plan was carried out: closes the item.",
    ledgers.Action.ESCALATE: (
        "Report up to a higher body: the item moves there with a new deadline."
    ),
    ledgers.Action.DECLINE: "Policy does not allow it: closed with a reasoned reply.",
    ledgers.Action.RATE: "The household's rating; dissatisfied reopens the item.",
}


def _transition(action: ledgers.Action, input_type: type[LedgerItemActionInput]) -> Any:
    """The mutation field of one handling action: its own input type, one payload shape."""

    async def resolve(info: Info, input: LedgerItemActionInput) -> LedgerItemPayload:
        return await _act(info, action, input)

    # strawberry reads the argument's GraphQL type from the annotation: this action's input
    resolve.__annotations__ = {"info": Info, "input": input_type, "return": LedgerItemPayload}
    return strawberry.mutation(resolver=resolve, description=DESCRIPTIONS[action])


@strawberry.type
class LedgerMutations:
    @strawberry.mutation(description="Receive an item into a ledger, once per key.")
    async def record_ledger_item(
        self, info: Info, input: RecordLedgerItemInput
    ) -> RecordLedgerItemPayload:
        outcome = await ledger_recording.record_item(
            info.context,
            ledger_recording.RecordItemInput(
                ledger=input.ledger,
                category=input.category,
                reasons=tuple(input.reasons),
                area=_ref(input.area_id, "Area"),
                department=_ref(input.department_id, "Department"),
                household=_ref(input.household_id, "Household"),
                source_visit=_ref(input.source_visit_id, "Visit"),
                source_meeting=_ref(input.source_meeting_id, "Meeting"),
                source_suggestion=_ref(input.source_suggestion_id, "Suggestion"),
                title=input.title,
                description=input.description,
                received_on=input.received_on,
                received_by_id=decode_id(input.received_by_id, "Cadre"),
                idempotency_key=input.idempotency_key,
            ),
        )
        return RecordLedgerItemPayload(
            item=LedgerItem.from_row(outcome.value) if outcome.value else None,
            errors=from_input_errors(outcome.errors),
            replayed=outcome.replayed,
        )

    assign_ledger_item = _transition(ledgers.Action.ASSIGN, AssignLedgerItemInput)
    resolve_ledger_item_on_the_spot = _transition(
        ledgers.Action.RESOLVE_ON_THE_SPOT, LedgerItemActionInput
    )
    make_ledger_item_plan = _transition(ledgers.Action.MAKE_PLAN, MakeLedgerItemPlanInput)
    complete_ledger_item = _transition(ledgers.Action.COMPLETE, LedgerItemActionInput)
    escalate_ledger_item = _transition(ledgers.Action.ESCALATE, EscalateLedgerItemInput)
    decline_ledger_item = _transition(ledgers.Action.DECLINE, DeclineLedgerItemInput)
    rate_ledger_item = _transition(ledgers.Action.RATE, RateLedgerItemInput)
