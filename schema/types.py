"""The node types: areas, households, departments, cadres, visits.

Each maps its ORM row in one ``from_row``; the row is kept private to the schema.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from strawberry.relay import Connection, Node, NodeID

from db.rows import models
from resolvers import areas as area_resolvers
from resolvers import cadres as cadre_resolvers
from resolvers import households as household_resolvers
from resolvers import meetings as meeting_resolvers
from resolvers import rollups as rollup_resolvers
from resolvers import visits as visit_resolvers
from resolvers.common.context import Context
from resolvers.common.pagination import page_held_in
from resolvers.ledgers import reads as ledger_reads
from schema.relay import by_row_id, connection, decode_id

if TYPE_CHECKING:
    from schema.ledgers import LedgerItemConnection, LedgerItemFilter, MatrixCell
    from schema.meetings import Meeting
    from schema.rollups import Rollup

LEDGERS = "schema.ledgers"
ROLLUPS = "schema.rollups"

Info = strawberry.Info[Context, None]

# The models' enums, registered with strawberry in place (it returns the same class).
strawberry.enum(models.AreaLevel, description="Levels of the administrative tree.")
strawberry.enum(models.DepartmentKind, description="Kinds of county department.")
strawberry.enum(models.CadreRank, description="What kind of cadre someone is.")
strawberry.enum(models.VisitKind, description="A routine visit, or a condolence visit (慰问).")
AreaLevel = models.AreaLevel
DepartmentKind = models.DepartmentKind
CadreRank = models.CadreRank
VisitKind = models.VisitKind


@strawberry.type(description="A node of the administrative tree: county, township, village, …")
class Area(Node):
    id: NodeID[int]
    level: AreaLevel
    name: str
    code: str | None = strawberry.field(
        description="National statistical division code (12-digit form); null for groups."
    )
    _row: strawberry.Private[models.Area]

    resolve_node = by_row_id(lambda context, row_id: area_resolvers.by_id(context, area_id=row_id))

    @classmethod
    def from_row(cls, row: models.Area) -> Self:
        return cls(id=row.id, level=row.level, name=row.name, code=row.code, _row=row)

    @strawberry.field(description="The area this one belongs to; null for the top.")
    async def parent(self, info: Info) -> Area | None:
        row = await area_resolvers.parent(info.context, self._row)
        return Area.from_row(row) if row else None

    @strawberry.field(description="Every area above this one, from the top down.")
    async def ancestors(self, info: Info) -> list[Area]:
        return [Area.from_row(r) for r in await area_resolvers.ancestors(info.context, self._row)]

    @strawberry.field(description="The areas directly below this one.")
    async def children(self, info: Info) -> list[Area]:
        return [Area.from_row(r) for r in await area_resolvers.children(info.context, self._row)]

    @strawberry.field(description="Households of this area's whole subtree, by registration.")
    async def households(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Household]:
        page = await household_resolvers.page_in_area(
            info.context, self._row, first=first, after=after
        )
        return connection(page, Household.from_row, lambda r: r.id)

    @strawberry.field(description="Cadres whose home area lies in this area's subtree.")
    async def cadres(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Cadre]:
        page = await page_held_in(
            info.context, self._row, cadre_resolvers.HELD, first=first, after=after
        )
        return connection(page, Cadre.from_row, lambda r: r.id)

    @strawberry.field(
        description="Counts for this area's whole subtree; ask `children { rollup }` for each "
        "child's. `from`/`to` (inclusive) limit dated counts to a window."
    )
    async def rollup(
        self,
        info: Info,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> Annotated[Rollup, strawberry.lazy(ROLLUPS)]:
        from schema.rollups import Rollup

        raw = info._raw_info
        selection = rollup_resolvers.read_rollup(
            raw.field_nodes[0], raw.fragments, rollup_resolvers.coerced(raw.variable_values)
        )
        return Rollup.from_value(await rollup_resolvers.rollup(info.context, self._row, selection))

    @strawberry.field(description="Courtyard meetings held in this area's subtree.")
    async def meetings(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Meeting, strawberry.lazy("schema.meetings")]]:
        from schema.meetings import Meeting

        page = await page_held_in(
            info.context, self._row, meeting_resolvers.HELD, first=first, after=after
        )
        return connection(page, Meeting.from_row, lambda r: r.id)

    @strawberry.field(
        description="The consolidated ledger (综合账): items held anywhere in this area's "
        "subtree, by the order they were received."
    )
    async def ledger_items(
        self,
        info: Info,
        filter: Annotated[LedgerItemFilter, strawberry.lazy(LEDGERS)] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Annotated[LedgerItemConnection, strawberry.lazy(LEDGERS)]:
        from schema.ledgers import LedgerItem, LedgerItemConnection

        spec = ledger_reads.build_filter(info.context, self._row, _filter_args(filter))
        page = await ledger_reads.page(info.context, spec, first=first, after=after)
        built = connection(page, LedgerItem.from_row, lambda r: r.id)
        return LedgerItemConnection(edges=built.edges, page_info=built.page_info, _spec=spec)

    @strawberry.field(
        description="The matrix summary of the same items: counts by ledger, category and status."
    )
    async def ledger_matrix(
        self,
        info: Info,
        filter: Annotated[LedgerItemFilter, strawberry.lazy(LEDGERS)] | None = None,
    ) -> list[Annotated[MatrixCell, strawberry.lazy(LEDGERS)]]:
        from schema.ledgers import MatrixCell

        spec = ledger_reads.build_filter(info.context, self._row, _filter_args(filter))
        cells = await ledger_reads.matrix(info.context, spec)
        return [
            MatrixCell(ledger=ledger.value, category=category, status=status, count=count)
            for ledger, category, status, count in cells
        ]


def _filter_args(given: LedgerItemFilter | None) -> ledger_reads.FilterArgs:
    if given is None:
        return ledger_reads.FilterArgs()
    responsible_id = None
    if given.responsible_id is not None:
        # An unknown cadre matches no item, like a cadre responsible for none.
        responsible_id = decode_id(given.responsible_id, "Cadre") or 0
    return ledger_reads.FilterArgs(
        ledgers=given.ledgers,
        categories=given.categories,
        statuses=given.statuses,
        overdue=given.overdue,
        as_of=given.as_of,
        responsible_id=responsible_id,
        received_from=given.received_from,
        received_to=given.received_to,
    )


@strawberry.type(description="A household (户), registered in a group.")
class Household(Node):
    id: NodeID[int]
    number: str = strawberry.field(description="House number inside the group.")
    members: int
    address: str | None
    _row: strawberry.Private[models.Household]

    resolve_node = by_row_id(
        lambda context, row_id: household_resolvers.by_id(context, household_id=row_id)
    )

    @classmethod
    def from_row(cls, row: models.Household) -> Self:
        return cls(id=row.id, number=row.number, members=row.members, address=row.address, _row=row)

    @strawberry.field(description="The head of household's name; masked without the right.")
    async def head_name(self, info: Info) -> str:
        return (await household_resolvers.personal_data(info.context, self._row)).head_name

    @strawberry.field(description="Phone; masked without the personal-data right.")
    async def phone(self, info: Info) -> str | None:
        return (await household_resolvers.personal_data(info.context, self._row)).phone

    @strawberry.field(description="ID card number; null without the personal-data right.")
    async def id_number(self, info: Info) -> str | None:
        return (await household_resolvers.personal_data(info.context, self._row)).id_number

    @strawberry.field(description="True when you lack the personal-data right here.")
    async def personal_data_masked(self, info: Info) -> bool:
        return (await household_resolvers.personal_data(info.context, self._row)).masked

    @strawberry.field(description="The group the household is registered in.")
    async def group(self, info: Info) -> Area | None:
        row = await area_resolvers.by_id(info.context, area_id=self._row.group_id)
        return Area.from_row(row) if row else None

    @strawberry.field(description="Visits to this household, oldest first.")
    async def visits(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Visit]:
        page = await visit_resolvers.page(
            info.context, household_id=self._row.id, first=first, after=after
        )
        return connection(page, Visit.from_row, lambda r: r.id)


@strawberry.type(description="A county-level department or one of its units (县级部门).")
class Department(Node):
    id: NodeID[int]
    kind: DepartmentKind
    name: str
    _row: strawberry.Private[models.Department]

    resolve_node = by_row_id(
        lambda context, row_id: cadre_resolvers.department_by_id(context, department_id=row_id)
    )

    @classmethod
    def from_row(cls, row: models.Department) -> Self:
        return cls(id=row.id, kind=row.kind, name=row.name, _row=row)

    @strawberry.field(description="The department this unit belongs to, if it is a unit.")
    async def parent(self, info: Info) -> Department | None:
        if self._row.parent_id is None:
            return None
        row = await cadre_resolvers.department_by_id(
            info.context, department_id=self._row.parent_id
        )
        return Department.from_row(row) if row else None


@strawberry.type(description="A cadre (干部) who visits households.")
class Cadre(Node):
    id: NodeID[int]
    name: str
    rank: CadreRank
    _row: strawberry.Private[models.Cadre]

    resolve_node = by_row_id(
        lambda context, row_id: cadre_resolvers.by_id(context, cadre_id=row_id)
    )

    @classmethod
    def from_row(cls, row: models.Cadre) -> Self:
        return cls(id=row.id, name=row.name, rank=row.rank, _row=row)

    @strawberry.field(description="The area the cadre works in (a county cadre: the county).")
    async def area(self, info: Info) -> Area | None:
        row = await area_resolvers.by_id(info.context, area_id=self._row.area_id)
        return Area.from_row(row) if row else None

    @strawberry.field(description="The cadre's department, for agency cadres.")
    async def department(self, info: Info) -> Department | None:
        row = await cadre_resolvers.department(info.context, self._row)
        return Department.from_row(row) if row else None

    @strawberry.field(description="Visits this cadre made, oldest recorded first.")
    async def visits(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Visit]:
        page = await visit_resolvers.page(
            info.context, cadre_id=self._row.id, first=first, after=after
        )
        return connection(page, Visit.from_row, lambda r: r.id)


@strawberry.type(description="A cadre's visit to a household (走访).")
class Visit(Node):
    id: NodeID[int]
    visited_on: dt.date
    notes: str
    kind: VisitKind
    condolence_amount: Decimal | None = strawberry.field(
        description="Condolence visits: the money given, in yuan."
    )
    people_visited: int | None = strawberry.field(
        description="Condolence visits: how many people of the household were visited."
    )
    _row: strawberry.Private[models.Visit]

    resolve_node = by_row_id(
        lambda context, row_id: visit_resolvers.by_id(context, visit_id=row_id)
    )

    @classmethod
    def from_row(cls, row: models.Visit) -> Self:
        amount = None if row.condolence_fen is None else Decimal(row.condolence_fen).scaleb(-2)
        return cls(
            id=row.id,
            visited_on=row.visited_on,
            notes=row.notes,
            kind=row.kind,
            condolence_amount=amount,
            people_visited=row.people_visited,
            _row=row,
        )

    @strawberry.field
    async def household(self, info: Info) -> Household | None:
        row = await household_resolvers.by_id(info.context, household_id=self._row.household_id)
        return Household.from_row(row) if row else None

    @strawberry.field
    async def cadre(self, info: Info) -> Cadre | None:
        row = await cadre_resolvers.by_id(info.context, cadre_id=self._row.cadre_id)
        return Cadre.from_row(row) if row else None


async def cadre_of(info: Info, cadre_id: int | None) -> Cadre | None:
    """The cadre of ``cadre_id`` as the caller may see it (None: none given or none visible)."""
    if cadre_id is None:
        return None
    row = await cadre_resolvers.by_id(info.context, cadre_id=cadre_id)
    return Cadre.from_row(row) if row else None
