"""Ledger items: recording, the handling transitions, the consolidated ledger views.

Restricted ledgers are handled in one place: ``context.visible_ledgers``. A
ledger or category outside it is answered exactly like one that does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.ledgers import (
    CATALOG,
    DEPARTMENT_LEDGERS,
    HARDSHIP_REASONS,
    RESTRICTED,
    Action,
    Ledger,
    LedgerKind,
    Resolution,
    Satisfaction,
    Status,
)
from db.models import Area, AreaLevel, LedgerItem, LedgerItemEvent
from db.paths import ancestor_ids
from db.queries import areas as area_queries
from db.queries import ledger_items as item_queries
from db.queries import meetings as meeting_queries
from db.queries import visits as visit_queries
from db.queries.pagination import Page
from db.scoping import EVERYWHERE
from policies.permissions import Act, Obj, ledger_object
from policies.scope import EVERYWHERE as EVERYWHERE_SCOPE
from policies.scope import Scope
from resolvers import checks, handling, references
from resolvers.context import Context
from resolvers.errors import ArgumentError, ErrorCode, InputError
from resolvers.pagination import page_request
from resolvers.workdays import add_working_days
from resolvers.writes import Outcome, Rejected, digest, write_once

TITLE_MAX = 200
TEXT_MAX = 5000
VILLAGE_PLACES = frozenset({AreaLevel.VILLAGE, AreaLevel.COMMUNITY, AreaLevel.GROUP})
REASON_LEDGERS = frozenset({Ledger.HARDSHIP, Ledger.NEEDY_EMPLOYEE})


# -- the catalog, as the caller may see it ------------------------------------------


def catalog(context: Context) -> list[LedgerKind]:
    return [kind for ledger, kind in CATALOG.items() if ledger in context.visible_ledgers]


def _object(ledger: Ledger) -> str:
    return ledger_object(ledger.value)


def visible_ledger(context: Context, name: str) -> Ledger | None:
    """The ledger called ``name`` if it exists and the caller may see it."""
    try:
        ledger = Ledger(name)
    except ValueError:
        return None
    return ledger if ledger in context.visible_ledgers else None


# -- reading ------------------------------------------------------------------------


async def by_id(context: Context, *, item_id: int) -> LedgerItem | None:
    return await context.loaders.ledger_item_by_id.load(item_id)


async def history(context: Context, item: LedgerItem) -> list[LedgerItemEvent]:
    return await context.loaders.events_by_item_id.load(item.id)


async def reasons(context: Context, item: LedgerItem) -> list[str]:
    return await context.loaders.reasons_by_item_id.load(item.id)


def is_overdue(item: LedgerItem, as_of: dt.date) -> bool:
    """Open on ``as_of`` and past its deadline (the same rule as the SQL filter)."""
    open_then = item.closed_on is None or item.closed_on > as_of
    return item.received_on <= as_of and item.deadline < as_of and open_then


@dataclasses.dataclass(frozen=True)
class FilterArgs:
    """A consolidated-ledger filter as the API gives it: names, not yet checked."""

    ledgers: list[str] | None = None
    categories: list[str] | None = None
    statuses: list[Status] | None = None
    overdue: bool | None = None
    as_of: dt.date | None = None
    responsible_id: int | None = None
    received_from: dt.date | None = None
    received_to: dt.date | None = None


def build_filter(context: Context, area: Area, args: FilterArgs) -> item_queries.LedgerFilter:
    """Check names against what the caller may see; unknown and hidden look the same
    (ledgers and categories here, the responsible cadre in the SQL)."""
    scopes = context.access.ledger_scopes(Act.READ)
    ledgers = frozenset(scopes)
    if args.ledgers is not None:
        chosen = set()
        for name in args.ledgers:
            ledger = visible_ledger(context, name)
            if ledger is None:
                raise ArgumentError(f"unknown ledger {name!r}")
            chosen.add(ledger)
        ledgers = frozenset(chosen)
    categories = None
    if args.categories is not None:
        known = {c for ledger in ledgers for c in CATALOG[ledger].categories}
        for name in args.categories:
            if name not in known:
                raise ArgumentError(f"unknown category {name!r}")
        categories = frozenset(args.categories)
    return item_queries.LedgerFilter(
        path=area.path,
        scopes={ledger: scopes[ledger] for ledger in ledgers},
        categories=categories,
        statuses=frozenset(args.statuses) if args.statuses is not None else None,
        overdue=args.overdue,
        as_of=args.as_of or context.today(),
        responsible_id=args.responsible_id,
        received_from=args.received_from,
        received_to=args.received_to,
        cadre_scope=context.access.scope(Obj.CADRE),
        cadre_self_id=context.access.cadre_id,
    )


def is_partial(context: Context, spec: item_queries.LedgerFilter) -> bool:
    """Whether some ledger of the view is visible over only part of the subtree."""
    return any(
        not context.access.scope(_object(ledger)).covers(spec.path) for ledger in spec.scopes
    )


def _describe(spec: item_queries.LedgerFilter) -> str:
    restricted = sorted(ledger.value for ledger in spec.scopes if ledger in RESTRICTED)
    return f"{spec.path} ledgers={','.join(restricted)}"


async def page(
    context: Context, spec: item_queries.LedgerFilter, *, first: int | None, after: str | None
) -> Page[LedgerItem]:
    request = page_request(context, first=first, after=after)
    async with context.reading() as session:
        found = await item_queries.page(
            session=session, spec=spec, after=request.after, limit=request.limit
        )
    restricted = sum(row.ledger in RESTRICTED for row in found.rows)
    context.note_restricted_read("read:ledgerItems", restricted, _describe(spec))
    return found


async def count(context: Context, spec: item_queries.LedgerFilter) -> int:
    async with context.reading() as session:
        total = await item_queries.count(session=session, spec=spec)
    if any(ledger in RESTRICTED for ledger in spec.scopes):
        context.note_restricted_read("read:ledgerItems.totalCount", total, _describe(spec))
    return total


async def matrix(
    context: Context, spec: item_queries.LedgerFilter
) -> list[tuple[Ledger, str, Status, int]]:
    async with context.reading() as session:
        cells = await item_queries.matrix(session=session, spec=spec)
    restricted = sum(n for ledger, _c, _s, n in cells if ledger in RESTRICTED)
    context.note_restricted_read("read:ledgerMatrix", restricted, _describe(spec))
    return cells


# -- recording ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Ref:
    """An id from the input: ``given`` tells "not given" from "given but unknown" (None)."""

    given: bool = False
    id: int | None = None


@dataclasses.dataclass(frozen=True)
class RecordItemInput:
    ledger: str
    category: str | None
    reasons: tuple[str, ...]
    area: Ref
    department: Ref
    household: Ref
    source_visit: Ref
    source_meeting: Ref
    source_suggestion: Ref
    title: str
    description: str
    received_on: dt.date
    received_by_id: int | None
    idempotency_key: str


def _check_classification(
    context: Context, data: RecordItemInput
) -> tuple[Ledger | None, str | None, list[InputError]]:
    ledger = visible_ledger(context, data.ledger)
    if ledger is None:
        return None, None, [InputError(ErrorCode.UNKNOWN_LEDGER, "ledger", "unknown ledger")]
    errors = []
    category = data.category
    known = CATALOG[ledger].categories
    if ledger in REASON_LEDGERS:
        if not data.reasons:
            errors.append(InputError(ErrorCode.REQUIRED, "reasons", "give at least one reason"))
        bad = [r for r in data.reasons if r not in HARDSHIP_REASONS]
        if bad or len(set(data.reasons)) != len(data.reasons):
            errors.append(
                InputError(ErrorCode.UNKNOWN_CATEGORY, "reasons", "unknown or repeated reason")
            )
        if category is None and data.reasons:
            category = data.reasons[0]
        elif category is not None and category not in data.reasons:
            errors.append(
                InputError(
                    ErrorCode.UNKNOWN_CATEGORY, "category", "the category must be one of reasons"
                )
            )
    else:
        if data.reasons:
            errors.append(
                InputError(
                    ErrorCode.NOT_ALLOWED_HERE, "reasons", "only needy-people ledgers have reasons"
                )
            )
        if category is None:
            errors.append(InputError(ErrorCode.REQUIRED, "category", "give a category"))
        elif category not in known:
            errors.append(InputError(ErrorCode.UNKNOWN_CATEGORY, "category", "unknown category"))
    return ledger, category, errors


async def record_item(context: Context, data: RecordItemInput) -> Outcome[LedgerItem]:
    """Receive an item (受理): the receiving cadre owns it, the deadline starts."""
    ledger, category, errors = _check_classification(context, data)
    errors += [
        *checks.text("title", data.title, max_length=TITLE_MAX, required=True),
        *checks.text("description", data.description, max_length=TEXT_MAX),
        *checks.not_in_future("receivedOn", data.received_on, context.today()),
    ]
    sources = [data.source_visit, data.source_meeting, data.source_suggestion]
    if sum(source.given for source in sources) > 1:
        errors.append(
            InputError(ErrorCode.NOT_ALLOWED_HERE, "source", "an item has at most one source")
        )
    if ledger is not None and ledger in DEPARTMENT_LEDGERS and not data.department.given:
        errors.append(InputError(ErrorCode.REQUIRED, "departmentId", "a department ledger"))
    if ledger is not None and ledger not in DEPARTMENT_LEDGERS:
        if data.department.given:
            errors.append(
                InputError(
                    ErrorCode.NOT_ALLOWED_HERE, "departmentId", "village ledgers have no department"
                )
            )
        if not data.area.given:
            errors.append(InputError(ErrorCode.REQUIRED, "areaId", "a village ledger's area"))
    if ledger is not None and CATALOG[ledger].household_required and not data.household.given:
        errors.append(InputError(ErrorCode.REQUIRED, "householdId", "this ledger needs one"))
    if errors:
        return Outcome(errors=tuple(errors))
    assert ledger is not None and category is not None
    deadline = add_working_days(data.received_on, context.working_days(ledger))

    async def write(session: AsyncSession) -> tuple[LedgerItem, int]:
        access = context.access
        writable = access.scope(_object(ledger), Act.WRITE)
        area, department_id = await _place(context, session, ledger, data, writable)
        problems: list[InputError] = []
        household_id = None
        if data.household.given:
            household = await references.household_in(
                session, "householdId", data.household.id, area, access.scope(Obj.HOUSEHOLD)
            )
            if isinstance(household, InputError):
                problems.append(household)
            else:
                household_id = household.id
        receiver = await references.cadre(
            session, "receivedById", data.received_by_id, access.scope(Obj.CADRE), access.cadre_id
        )
        if isinstance(receiver, InputError):
            problems.append(receiver)
        problems += await _check_sources(context, session, data)
        if problems:
            raise Rejected(*problems)
        values = {
            "ledger": ledger,
            "category": category,
            "title": data.title,
            "description": data.description,
            "area_id": area.id,
            "department_id": department_id,
            "household_id": household_id,
            "source_visit_id": data.source_visit.id,
            "source_meeting_id": data.source_meeting.id,
            "source_suggestion_id": data.source_suggestion.id,
            "received_on": data.received_on,
            "received_by_id": data.received_by_id,
            "deadline": deadline.due,
            "deadline_provisional": deadline.provisional,
            "status": Status.RECEIVED,
            "version": 1,
        }
        event = LedgerItemEvent(
            action=Action.RECEIVE,
            actor_id=data.received_by_id,
            occurred_on=data.received_on,
            from_status=None,
            to_status=Status.RECEIVED,
            note="",
        )
        item = await item_queries.create(
            session=session, scope=writable, values=values, reasons=data.reasons, event=event
        )
        if item is None:  # not writable here: as if the area did not exist
            raise Rejected(InputError(ErrorCode.UNKNOWN_AREA, "areaId", "no such area"))
        return item, item.id

    request_hash = digest(dataclasses.astuple(dataclasses.replace(data, idempotency_key="")))
    return await write_once(
        context,
        operation="recordLedgerItem",
        object_type="ledger_item",
        key=data.idempotency_key,
        request_hash=request_hash,
        write=write,
        load=_load,
    )


async def _load(session: AsyncSession, item_id: int) -> LedgerItem:
    item = await session.get(LedgerItem, item_id, populate_existing=True)
    assert item is not None
    return item


async def _place(
    context: Context,
    session: AsyncSession,
    ledger: Ledger,
    data: RecordItemInput,
    writable: Scope,
) -> tuple[Area, int | None]:
    """The item's area (and department): a village place, or a department's county."""
    if ledger not in DEPARTMENT_LEDGERS:
        found = await references.area(session, "areaId", data.area.id, VILLAGE_PLACES, writable)
        if isinstance(found, InputError):
            raise Rejected(found)
        return found, None
    department = await references.department(
        session, "departmentId", data.department.id, context.access.scope(Obj.AREA)
    )
    if isinstance(department, InputError):
        raise Rejected(department)
    counties = await area_queries.get_many(
        session=session, area_ids=[department.county_id], scope=EVERYWHERE
    )
    county = counties[0]
    if not data.area.given:
        return county, department.id
    area = await references.area(
        session, "areaId", data.area.id, frozenset(AreaLevel), context.access.scope(Obj.AREA)
    )
    if isinstance(area, InputError):
        raise Rejected(area)
    if not area_queries.contains(county, area):
        raise Rejected(
            InputError(
                ErrorCode.NOT_IN_AREA, "areaId", "the area is outside the department's county"
            )
        )
    return area, department.id


async def _check_sources(
    context: Context, session: AsyncSession, data: RecordItemInput
) -> list[InputError]:
    """A source must be a visit, meeting or suggestion the caller sees."""
    missing = InputError(ErrorCode.UNKNOWN_SOURCE, "source", "no such visit, meeting or suggestion")
    access = context.access
    if data.source_visit.given:
        ids = [data.source_visit.id] if data.source_visit.id else []
        if not await visit_queries.get_many(
            session=session, visit_ids=ids, scope=access.scope(Obj.VISIT)
        ):
            return [missing]
    if data.source_meeting.given:
        ids = [data.source_meeting.id] if data.source_meeting.id else []
        if not await meeting_queries.get_many(
            session=session, meeting_ids=ids, scope=access.scope(Obj.MEETING)
        ):
            return [missing]
    if data.source_suggestion.given:
        ids = [data.source_suggestion.id] if data.source_suggestion.id else []
        if not await meeting_queries.get_suggestions(
            session=session, suggestion_ids=ids, scope=access.scope(Obj.MEETING)
        ):
            return [missing]
    return []


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
        if not access.scope(_object(item.ledger), Act.WRITE).admits(
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
            target = handling.next_status(
                data.action,
                item.status,
                satisfaction=data.satisfaction,
                already_rated=item.satisfaction is not None,
                has_responsible=item.responsible_id is not None,
            )
        except handling.IllegalTransition as illegal:
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
        return await _load(session, item.id), item.id

    request_hash = digest(dataclasses.astuple(dataclasses.replace(data, idempotency_key="")))
    return await write_once(
        context,
        operation="ledgerItemTransition",
        object_type="ledger_item",
        key=data.idempotency_key,
        request_hash=request_hash,
        write=write,
        load=_load,
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
