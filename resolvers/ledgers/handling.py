"""Handling ledger items (受理 → 交办 → 办结 / 上报 / 答复 → 评价): the state machine (which
actions each status allows and where they lead) and the transitions that apply it,
each one idempotent write guarded by the item's version and the writer's scope."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.ledgers import (
    Action,
    Resolution,
    Satisfaction,
    Status,
)
from db.models import AreaLevel, LedgerItem, LedgerItemEvent
from db.paths import ancestor_ids
from db.queries import areas as area_queries
from db.queries import ledger_items as item_queries
from db.scoping import EVERYWHERE
from db.workdays import add_working_days
from policies.permissions import Act, Obj
from policies.scope import EVERYWHERE as EVERYWHERE_SCOPE
from resolvers.common import checks, references
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.references import Ref
from resolvers.common.writes import Outcome, Rejected, input_digest, write_once
from resolvers.ledgers.catalog import object_of
from resolvers.ledgers.recording import TEXT_MAX, load_item

S = Status

# action → the statuses it may start from
ALLOWED_FROM: dict[Action, frozenset[Status]] = {
    Action.ASSIGN: frozenset({S.RECEIVED, S.ASSIGNED, S.ESCALATED}),
    Action.RESOLVE_ON_THE_SPOT: frozenset({S.RECEIVED, S.ASSIGNED}),
    Action.MAKE_PLAN: frozenset({S.ASSIGNED}),
    Action.COMPLETE: frozenset({S.PLANNED}),
    Action.ESCALATE: frozenset({S.RECEIVED, S.ASSIGNED, S.PLANNED}),
    Action.DECLINE: frozenset({S.RECEIVED, S.ASSIGNED, S.PLANNED, S.ESCALATED}),
    Action.RATE: frozenset({S.RESOLVED, S.DECLINED}),
}

_TARGET: dict[Action, Status] = {
    Action.ASSIGN: S.ASSIGNED,
    Action.RESOLVE_ON_THE_SPOT: S.RESOLVED,
    Action.MAKE_PLAN: S.PLANNED,
    Action.COMPLETE: S.RESOLVED,
    Action.ESCALATE: S.ESCALATED,
    Action.DECLINE: S.DECLINED,
}


class IllegalTransition(Exception):
    def __init__(self, action: Action, status: Status, why: str = "") -> None:
        message = f"cannot {action.value.replace('_', ' ')} an item that is {status.value}"
        super().__init__(message + (f": {why}" if why else ""))


def next_status(
    action: Action,
    current: Status,
    *,
    satisfaction: Satisfaction | None = None,
    already_rated: bool = False,
    has_responsible: bool = True,
) -> Status:
    """Where ``action`` takes an item at ``current``; raises IllegalTransition."""
    if current not in ALLOWED_FROM[action]:
        raise IllegalTransition(action, current)
    if action is Action.RATE:
        if already_rated:
            raise IllegalTransition(action, current, "it was already rated")
        if satisfaction is not Satisfaction.DISSATISFIED:
            return current
        # A dissatisfied household reopens the item: back to its responsible cadre,
        # or to its first-contact owner when it was solved before being assigned.
        return S.ASSIGNED if has_responsible else S.RECEIVED
    return _TARGET[action]


# -- handling -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TransitionInput:
    action: Action
    item_id: int | None
    actor_id: int | None
    on: dt.date | None
    idempotency_key: str
    note: str = ""
    responsible_id: Ref = Ref()
    method: str | None = None
    plan: str | None = None
    due_on: dt.date | None = None
    to_area: Ref = Ref()
    to_department: Ref = Ref()
    reason: str | None = None
    satisfaction: Satisfaction | None = None


def _check_transition_input(context: Context, data: TransitionInput) -> list[InputError]:
    errors = checks.text("note", data.note, max_length=TEXT_MAX)
    if data.on is not None:
        errors += checks.not_in_future("on", data.on, context.today())
    action = data.action
    if action is Action.ASSIGN:
        if not data.responsible_id.given:
            errors.append(InputError(ErrorCode.REQUIRED, "responsibleId", "who handles it"))
        errors += checks.text("method", data.method or "", max_length=TEXT_MAX, required=True)
    if action is Action.MAKE_PLAN:
        errors += checks.text("plan", data.plan or "", max_length=TEXT_MAX, required=True)
        if data.due_on is not None and data.on is not None:
            errors += checks.not_before("dueOn", data.due_on, data.on, "the plan's date")
    if action is Action.ESCALATE and data.to_area.given == data.to_department.given:
        errors.append(
            InputError(
                ErrorCode.REQUIRED, "toAreaId", "give exactly one of toAreaId and toDepartmentId"
            )
        )
    if action is Action.DECLINE:
        errors += checks.text("reason", data.reason or "", max_length=TEXT_MAX, required=True)
    if action is Action.RATE and data.satisfaction is None:
        errors.append(InputError(ErrorCode.REQUIRED, "satisfaction", "the household's rating"))
    return errors


async def transition(context: Context, data: TransitionInput) -> Outcome[LedgerItem]:
    """Apply one handling action; an illegal one is a typed error and changes nothing."""
    if errors := _check_transition_input(context, data):
        return Outcome(errors=tuple(errors))
    on = data.on or context.today()

    async def write(session: AsyncSession) -> tuple[LedgerItem, int]:
        access = context.access
        items = (
            await item_queries.get_many(
                session=session, item_ids=[data.item_id], scopes=access.ledger_scopes(Act.READ)
            )
            if data.item_id is not None
            else []
        )
        if not items:
            raise Rejected(InputError(ErrorCode.UNKNOWN_LEDGER_ITEM, "itemId", "no such item"))
        item = items[0]
        if not access.scope(object_of(item.ledger), Act.WRITE).admits(
            item.area_path, item.department_id
        ):
            raise Rejected(
                InputError(
                    ErrorCode.NOT_ALLOWED_HERE, "itemId", "you may read this item, not change it"
                )
            )
        actor = await references.cadre(
            session, "actorId", data.actor_id, access.scope(Obj.CADRE), access.cadre_id
        )
        if isinstance(actor, InputError):
            raise Rejected(actor)
        if too_early := checks.not_before("on", on, item.received_on, "the item's receipt"):
            raise Rejected(*too_early)
        try:
            target = next_status(
                data.action,
                item.status,
                satisfaction=data.satisfaction,
                already_rated=item.satisfaction is not None,
                has_responsible=item.responsible_id is not None,
            )
        except IllegalTransition as illegal:
            raise Rejected(
                InputError(ErrorCode.ILLEGAL_TRANSITION, "itemId", str(illegal))
            ) from None
        values = await _values(session, context, item, data, on, target)
        event = LedgerItemEvent(
            action=data.action,
            actor_id=actor.id,
            occurred_on=on,
            from_status=item.status,
            to_status=target,
            note=_event_note(data),
        )
        if not await item_queries.transition(
            session=session,
            scopes=access.ledger_scopes(Act.WRITE),
            item=item,
            values=values,
            event=event,
        ):
            raise Rejected(
                InputError(
                    ErrorCode.CONCURRENT_CHANGE,
                    "itemId",
                    "the item changed meanwhile; reload it and try again",
                )
            )
        return await load_item(session, item.id), item.id

    return await write_once(
        context,
        operation="ledgerItemTransition",
        object_type="ledger_item",
        key=data.idempotency_key,
        request_hash=input_digest(data),
        write=write,
        load=load_item,
    )


def _event_note(data: TransitionInput) -> str:
    parts = [data.note] if data.note else []
    for label, value in (
        ("method", data.method),
        ("plan", data.plan),
        ("reason", data.reason),
        ("satisfaction", data.satisfaction.value if data.satisfaction else None),
    ):
        if value:
            parts.append(f"{label}: {value}")
    return "; ".join(parts)


async def _values(
    session: AsyncSession,
    context: Context,
    item: LedgerItem,
    data: TransitionInput,
    on: dt.date,
    target: Status,
) -> dict[str, Any]:
    """The columns an action sets, after checking the rows it names."""
    values: dict[str, Any] = {"status": target}
    fresh_deadline = add_working_days(on, context.working_days(item.ledger))
    match data.action:
        case Action.ASSIGN:
            access = context.access
            responsible = await references.cadre(
                session,
                "responsibleId",
                data.responsible_id.id,
                access.scope(Obj.CADRE),
                access.cadre_id,
            )
            if isinstance(responsible, InputError):
                raise Rejected(responsible)
            values |= {"responsible_id": responsible.id, "method": data.method}
        case Action.RESOLVE_ON_THE_SPOT:
            values |= {"resolution": Resolution.ON_THE_SPOT, "closed_on": on}
        case Action.MAKE_PLAN:
            values |= {"plan": data.plan}
            if data.due_on is not None:
                if early := checks.not_before("dueOn", data.due_on, on, "the plan's date"):
                    raise Rejected(*early)
                values |= {"deadline": data.due_on, "deadline_provisional": False}
        case Action.COMPLETE:
            values |= {"resolution": Resolution.BY_PLAN, "closed_on": on}
        case Action.ESCALATE:
            values |= await _escalation(session, item, data)
            values |= {
                "deadline": fresh_deadline.due,
                "deadline_provisional": fresh_deadline.provisional,
            }
        case Action.DECLINE:
            values |= {
                "resolution": Resolution.POLICY_DOES_NOT_ALLOW,
                "decline_reason": data.reason,
                "closed_on": on,
            }
        case Action.RATE if target in (Status.ASSIGNED, Status.RECEIVED):
            values |= {
                "closed_on": None,
                "resolution": None,
                "decline_reason": None,
                "satisfaction": None,
                "deadline": fresh_deadline.due,
                "deadline_provisional": fresh_deadline.provisional,
            }
        case Action.RATE:
            values |= {"satisfaction": data.satisfaction}
    return values


async def _escalation(
    session: AsyncSession, item: LedgerItem, data: TransitionInput
) -> dict[str, Any]:
    """Move the item to a higher body: an area above it, or a county department."""
    above = ancestor_ids(item.area_path)[:-1]
    if data.to_area.given:
        # Any area above the item: the higher bodies, seen or not by the escalating cadre.
        area = await references.area(
            session, "toAreaId", data.to_area.id, frozenset(AreaLevel), EVERYWHERE_SCOPE
        )
        if isinstance(area, InputError) or area.id not in above:
            # One answer for "no such area" and "an area not above the item": the
            # lookup is unscoped, so telling them apart would confirm that an area
            # outside the caller's view exists.
            raise Rejected(
                InputError(
                    ErrorCode.UNKNOWN_AREA,
                    "toAreaId",
                    "no such area above the item's area",
                )
            )
        return {"area_id": area.id, "area_path": area.path, "escalated_to": area.name}
    department = await references.department(
        session, "toDepartmentId", data.to_department.id, EVERYWHERE_SCOPE
    )
    if isinstance(department, InputError):
        raise Rejected(department)
    county_id = ancestor_ids(item.area_path)[0]
    if department.county_id != county_id:
        raise Rejected(
            InputError(ErrorCode.UNKNOWN_DEPARTMENT, "toDepartmentId", "no such department")
        )
    county = (await area_queries.get_many(session=session, area_ids=[county_id], scope=EVERYWHERE))[
        0
    ]
    return {
        "area_id": county.id,
        "area_path": county.path,
        "department_id": department.id,
        "escalated_to": department.name,
    }
