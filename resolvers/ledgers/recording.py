"""Recording an item into a ledger (受理): classification, place and sources checked, one
idempotent write with its counters and its first history line."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from db.ledgers import (
    CATALOG,
    DEPARTMENT_LEDGERS,
    HARDSHIP_REASONS,
    Action,
    Ledger,
    Status,
)
from db.models import Area, AreaLevel, LedgerItem, LedgerItemEvent
from db.queries import areas as area_queries
from db.queries import ledger_items as item_queries
from db.queries import meetings as meeting_queries
from db.queries import visits as visit_queries
from db.scoping import EVERYWHERE
from db.workdays import add_working_days
from policies.permissions import Act, Obj
from policies.scope import Scope
from resolvers.common import checks, references
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.references import Ref
from resolvers.common.writes import Outcome, Rejected, input_digest, row_loader, write_once
from resolvers.ledgers.catalog import object_of, visible_ledger

TITLE_MAX = 200
TEXT_MAX = 5000
VILLAGE_PLACES = frozenset({AreaLevel.VILLAGE, AreaLevel.COMMUNITY, AreaLevel.GROUP})
REASON_LEDGERS = frozenset({Ledger.HARDSHIP, Ledger.NEEDY_EMPLOYEE})


# -- recording ----------------------------------------------------------------------


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
        writable = access.scope(object_of(ledger), Act.WRITE)
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

    return await write_once(
        context,
        operation="recordLedgerItem",
        object_type="ledger_item",
        key=data.idempotency_key,
        request_hash=input_digest(data),
        write=write,
        load=load_item,
    )


load_item = row_loader(LedgerItem, fresh=True)  # an item as it is now (transitions change it)


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
