"""Reading ledger items: one item, its history and reasons, filtered pages, counts and
the consolidated matrix, each inside the caller's ledger scopes."""

from __future__ import annotations

import dataclasses
import datetime as dt

from db.ledgers import (
    CATALOG,
    RESTRICTED,
    Ledger,
    Status,
)
from db.models import Area, LedgerItem, LedgerItemEvent
from db.queries import ledger_items as item_queries
from db.queries.ledger_items import LedgerFilter as LedgerFilter  # what a filter reads
from db.queries.pagination import Page
from policies.permissions import Act, Obj
from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError
from resolvers.common.pagination import page_request
from resolvers.ledgers.catalog import object_of, visible_ledger

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
        not context.access.scope(object_of(ledger)).covers(spec.path) for ledger in spec.scopes
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
