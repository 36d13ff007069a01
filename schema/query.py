"""The root Query: entry points into the tree, and ``node`` for any global id."""

from __future__ import annotations

import strawberry
from strawberry.relay import GlobalID, GlobalIDValueError, Node

from db.rows import ledgers
from resolvers import areas as area_resolvers
from resolvers import cadres as cadre_resolvers
from resolvers import households as household_resolvers
from resolvers import meetings as meeting_resolvers
from resolvers import rollups as rollup_resolvers
from resolvers import visits as visit_resolvers
from resolvers.ledgers import catalog as ledger_catalog
from resolvers.ledgers import reads as ledger_reads
from schema.access import AccessQuery
from schema.ledgers import LedgerCategory, LedgerItem, LedgerKind, Meeting, Suggestion
from schema.relay import decode_id
from schema.saved_queries import SavedQueryQueries
from schema.types import Area, AreaLevel, Cadre, Department, Household, Info, Visit


async def _node(info: Info, value: str) -> Node | None:
    try:
        type_name = GlobalID.from_id(value).type_name
    except GlobalIDValueError:
        return None
    row_id = decode_id(value, type_name)
    if row_id is None:
        return None
    context = info.context
    match type_name:
        case "Area":
            area = await area_resolvers.by_id(context, area_id=row_id)
            return Area.from_row(area) if area else None
        case "Household":
            household = await household_resolvers.by_id(context, household_id=row_id)
            return Household.from_row(household) if household else None
        case "Cadre":
            cadre = await cadre_resolvers.by_id(context, cadre_id=row_id)
            return Cadre.from_row(cadre) if cadre else None
        case "Department":
            department = await cadre_resolvers.department_by_id(context, department_id=row_id)
            return Department.from_row(department) if department else None
        case "Visit":
            visit = await visit_resolvers.by_id(context, visit_id=row_id)
            return Visit.from_row(visit) if visit else None
        case "Meeting":
            meeting = await meeting_resolvers.by_id(context, meeting_id=row_id)
            return Meeting.from_row(meeting) if meeting else None
        case "Suggestion":
            suggestion = await meeting_resolvers.suggestion_by_id(context, suggestion_id=row_id)
            return Suggestion.from_row(suggestion) if suggestion else None
        case "LedgerItem":
            item = await ledger_reads.by_id(context, item_id=row_id)
            return LedgerItem.from_row(item) if item else None
    return None


@strawberry.type
class Query(AccessQuery, SavedQueryQueries):
    @strawberry.field(description="Any object by its global id; null if there is none.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await _node(info, id)

    @strawberry.field(description="Objects by global ids, in order; null where there is none.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        return [await _node(info, value) for value in ids]

    @strawberry.field(description="An area by its national division code.")
    async def area(self, info: Info, code: str) -> Area | None:
        raw = info._raw_info
        selection = rollup_resolvers.read_selection(
            raw.field_nodes, raw.fragments, rollup_resolvers.coerced(raw.variable_values)
        )
        if selection.any_rollup:  # the area, its children and all their rollups at once
            row = await rollup_resolvers.by_code(info.context, code=code, selection=selection)
        else:
            row = await area_resolvers.by_code(info.context, code=code)
        return Area.from_row(row) if row else None

    @strawberry.field(
        description="Areas in tree order: all of them, or the subtree of `under` "
        "(itself included), optionally of one level."
    )
    async def areas(
        self, info: Info, under: strawberry.ID | None = None, level: AreaLevel | None = None
    ) -> list[Area]:
        under_id = None
        if under is not None:
            under_id = decode_id(under, "Area")
            if under_id is None:
                return []
        rows = await area_resolvers.in_subtree(info.context, under=under_id, level=level)
        return [Area.from_row(row) for row in rows]

    @strawberry.field(description="The ledgers you may see, their categories and time limits.")
    def ledger_catalog(self, info: Info) -> list[LedgerKind]:
        return [
            LedgerKind(
                key=kind.ledger.value,
                name=kind.name,
                categories=[LedgerCategory(key=k, name=n) for k, n in kind.categories.items()],
                department_ledger=kind.ledger in ledgers.DEPARTMENT_LEDGERS,
                deadline_working_days=info.context.working_days(kind.ledger),
            )
            for kind in ledger_catalog.catalog(info.context)
        ]
