"""The root Query: entry points into the tree, and ``node`` for any global id."""

from __future__ import annotations

import strawberry
from strawberry.relay import GlobalID, GlobalIDValueError, Node

from db.rows import ledgers
from resolvers import areas as area_resolvers
from resolvers import rollups as rollup_resolvers
from resolvers.ledgers import catalog as ledger_catalog
from schema.access import AccessQuery
from schema.ledgers import LedgerCategory, LedgerKind
from schema.relay import decode_id
from schema.saved_queries import SavedQueryQueries
from schema.types import Area, AreaLevel, Info


async def _node(info: Info, value: str) -> Node | None:
    """Strawberry's relay resolution: the type named in the id looks its row up
    (``resolve_node``, see ``schema.relay.by_row_id``); an id that names no Node type,
    or an abstract one, is answered as one that names nothing."""
    try:
        global_id = GlobalID.from_id(value)
        return await global_id.resolve_node(info)
    except (GlobalIDValueError, NotImplementedError):
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
