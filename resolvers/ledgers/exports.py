"""Export of any ledger view to XLSX, in the import's column layout (so it round-trips)."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from db.ledgers import RESTRICTED
from db.models import Area, AreaLevel, LedgerItem
from db.queries import areas as area_queries
from db.queries import cadres as cadre_queries
from db.queries import households as household_queries
from db.queries import ledger_items as item_queries
from db.scoping import EVERYWHERE
from policies.permissions import Obj
from resolvers.common.context import Context
from resolvers.ledgers import sheets
from resolvers.ledgers.reads import FilterArgs, build_filter


async def export_xlsx(context: Context, area: Area, args: FilterArgs) -> bytes:
    """Every item of the view (the consolidated-ledger filter under ``area``), by id."""
    spec = build_filter(context, area, args)
    async with context.reading() as session:
        items = await item_queries.list_all(session=session, spec=spec)
        ids = [item.id for item in items]
        reasons: dict[int, list[str]] = defaultdict(list)
        for reason in await item_queries.list_reasons(session=session, item_ids=ids):
            reasons[reason.item_id].append(reason.reason)
        places = {
            a.id: a
            for a in await area_queries.get_many(
                session=session, area_ids=sorted({item.area_id for item in items}), scope=EVERYWHERE
            )
        }
        parent_ids = {a.parent_id for a in places.values() if a.level is AreaLevel.GROUP}
        parents = {
            a.id: a
            for a in await area_queries.get_many(
                session=session,
                area_ids=sorted(i for i in parent_ids if i is not None),
                scope=EVERYWHERE,
            )
        }
        households = {
            h.id: h
            for h in await household_queries.get_many(
                session=session,
                household_ids=sorted({i.household_id for i in items if i.household_id}),
                scope=EVERYWHERE,
            )
        }
        homes = {
            a.id: a.name
            for a in await area_queries.get_many(
                session=session,
                area_ids=sorted({h.group_id for h in households.values()}),
                scope=EVERYWHERE,
            )
        }
        cadre_ids = {i.received_by_id for i in items} | {
            i.responsible_id for i in items if i.responsible_id
        }
        names = {
            c.id: c.name
            for c in await cadre_queries.get_many(
                session=session,
                cadre_ids=sorted(cadre_ids),
                scope=context.access.scope(Obj.CADRE),
                self_id=context.access.cadre_id,
            )
        }

    def row(item: LedgerItem) -> list[object]:
        place = places[item.area_id]
        village, group = place, ""
        if place.level is AreaLevel.GROUP and place.parent_id is not None:
            village, group = parents[place.parent_id], place.name
        household = households.get(item.household_id) if item.household_id else None
        values: dict[str, object] = {
            "ledger": item.ledger.value,
            "category": item.category,
            "reasons": ",".join(reasons.get(item.id, [])),
            "area_code": village.code or "",
            "group": group,
            "household": household.number if household else "",
            "household_group": (
                homes[household.group_id]
                if household and household.group_id != item.area_id
                else ""
            ),
            "title": item.title,
            "description": item.description,
            "received_on": item.received_on,
            "received_by": names.get(item.received_by_id, ""),
            "responsible": names.get(item.responsible_id, "") if item.responsible_id else "",
            "method": item.method or "",
            "plan": item.plan or "",
            "deadline": item.deadline,
            "status": item.status.value,
            "resolution": item.resolution.value if item.resolution else "",
            "escalated_to": item.escalated_to or "",
            "decline_reason": item.decline_reason or "",
            "closed_on": item.closed_on or "",
            "satisfaction": item.satisfaction.value if item.satisfaction else "",
        }
        return [values[key] for key in sheets.KEYS]

    restricted = sum(item.ledger in RESTRICTED for item in items)
    context.note_restricted_read("export:ledgerItems", restricted, spec.path)
    rows = [row(item) for item in items]
    return await asyncio.to_thread(sheets.write_xlsx, rows)
