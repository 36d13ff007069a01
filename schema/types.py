"""The node types: areas, households, departments, cadres, visits.

Each maps its ORM row in one ``from_row``; the row is kept private to the schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Self

import strawberry
from strawberry.relay import Connection, Node, NodeID

from db import models
from resolvers import areas as area_resolvers
from resolvers import cadres as cadre_resolvers
from resolvers import households as household_resolvers
from resolvers import visits as visit_resolvers
from resolvers.context import Context
from schema.relay import connection

Info = strawberry.Info[Context, None]

# The models' enums, registered with strawberry in place (it returns the same class).
strawberry.enum(models.AreaLevel, description="Levels of the administrative tree.")
strawberry.enum(models.DepartmentKind, description="Kinds of county department.")
strawberry.enum(models.CadreRank, description="What kind of cadre someone is.")
AreaLevel = models.AreaLevel
DepartmentKind = models.DepartmentKind
CadreRank = models.CadreRank


@strawberry.type(description="A node of the administrative tree: county, township, village, …")
class Area(Node):
    id: NodeID[int]
    level: AreaLevel
    name: str
    code: str | None = strawberry.field(
        description="National statistical division code (12-digit form); null for groups."
    )
    _row: strawberry.Private[models.Area]

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
        page = await cadre_resolvers.page_in_area(info.context, self._row, first=first, after=after)
        return connection(page, Cadre.from_row, lambda r: r.id)


@strawberry.type(description="A household (户), registered in a group.")
class Household(Node):
    id: NodeID[int]
    number: str = strawberry.field(description="House number inside the group.")
    head_name: str
    phone: str | None
    members: int
    address: str | None
    _row: strawberry.Private[models.Household]

    @classmethod
    def from_row(cls, row: models.Household) -> Self:
        return cls(
            id=row.id,
            number=row.number,
            head_name=row.head_name,
            phone=row.phone,
            members=row.members,
            address=row.address,
            _row=row,
        )

    @strawberry.field(description="The group the household is registered in.")
    async def group(self, info: Info) -> Area:
        row = await area_resolvers.by_id(info.context, area_id=self._row.group_id)
        assert row is not None, "foreign key"
        return Area.from_row(row)

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

    @classmethod
    def from_row(cls, row: models.Cadre) -> Self:
        return cls(id=row.id, name=row.name, rank=row.rank, _row=row)

    @strawberry.field(description="The area the cadre works in (a county cadre: the county).")
    async def area(self, info: Info) -> Area:
        row = await area_resolvers.by_id(info.context, area_id=self._row.area_id)
        assert row is not None, "foreign key"
        return Area.from_row(row)

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
    _row: strawberry.Private[models.Visit]

    @classmethod
    def from_row(cls, row: models.Visit) -> Self:
        return cls(id=row.id, visited_on=row.visited_on, notes=row.notes, _row=row)

    @strawberry.field
    async def household(self, info: Info) -> Household:
        row = await household_resolvers.by_id(info.context, household_id=self._row.household_id)
        assert row is not None, "foreign key"
        return Household.from_row(row)

    @strawberry.field
    async def cadre(self, info: Info) -> Cadre:
        row = await cadre_resolvers.by_id(info.context, cadre_id=self._row.cadre_id)
        assert row is not None, "foreign key"
        return Cadre.from_row(row)
