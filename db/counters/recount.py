"""The counters from the base rows alone (``recount``), the stored ones, and ``rebuild``,
which replaces counters and tallies with the recount and moves every version on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.counters.bumps import upsert_into
from db.counters.keys import (
    CADRES,
    CADRES_ACTIVE,
    CADRES_AT_QUOTA,
    CONDOLENCE_FEN,
    CONDOLENCE_PEOPLE,
    HOUSEHOLDS,
    ITEM_STATUS,
    ITEMS,
    MEETINGS,
    NEEDY,
    QUOTA,
    SUGGESTIONS,
    VERSION,
    VERSION_OF,
    VISITED,
    VISITS,
    Counts,
    item_key,
    status_key,
)
from db.ledgers import Ledger
from db.models import (
    Area,
    AreaCounter,
    Cadre,
    CadreTally,
    Household,
    HouseholdTally,
    LedgerItem,
    LedgerItemReason,
    Meeting,
    Suggestion,
    Visit,
)
from db.paths import ancestor_ids


async def recount(session: AsyncSession) -> Counts:
    """Every counter, from the base rows alone (not from tallies or counters)."""
    paths = dict((await session.execute(select(Area.id, Area.path))).all())
    counts: Counts = defaultdict(int)
    for (area_id, metric, key), value in (await held(session)).items():
        for ancestor in ancestor_ids(paths[area_id]):
            counts[(ancestor, metric, key)] += value
    return {k: v for k, v in counts.items() if v}


async def held(session: AsyncSession) -> Counts:
    """Counts of the rows each area holds itself (not its subtree), from the base rows."""
    leaf: dict[tuple[int, str, str], int] = defaultdict(int)

    def add(rows: Iterable[Any], metric: str, key_of: Any = None) -> None:
        for row in rows:
            area_id, *rest, value = row
            key = key_of(*rest) if key_of else ""
            leaf[(area_id, metric, key)] += int(value or 0)

    g = Household.group_id
    add((await session.execute(select(g, func.count()).group_by(g))).all(), HOUSEHOLDS)
    visits = select(g, func.count(), func.sum(Visit.condolence_fen), func.sum(Visit.people_visited))
    visits = visits.join(Household, Household.id == Visit.household_id).group_by(g)
    for area_id, count, fen, people in (await session.execute(visits)).all():
        leaf[(area_id, VISITS, "")] += count
        leaf[(area_id, CONDOLENCE_FEN, "")] += int(fen or 0)
        leaf[(area_id, CONDOLENCE_PEOPLE, "")] += int(people or 0)
    visited = (
        select(g, func.count(func.distinct(Visit.household_id)))
        .join(Household, Household.id == Visit.household_id)
        .group_by(g)
    )
    add((await session.execute(visited)).all(), VISITED)
    add(
        (await session.execute(select(Cadre.area_id, func.count()).group_by(Cadre.area_id))).all(),
        CADRES,
    )
    per_cadre = (
        select(Visit.cadre_id, func.count(func.distinct(Visit.household_id)).label("n"))
        .group_by(Visit.cadre_id)
        .subquery()
    )
    for metric, least in ((CADRES_ACTIVE, 1), (CADRES_AT_QUOTA, QUOTA)):
        statement = (
            select(Cadre.area_id, func.count())
            .join(per_cadre, per_cadre.c.cadre_id == Cadre.id)
            .where(per_cadre.c.n >= least)
            .group_by(Cadre.area_id)
        )
        add((await session.execute(statement)).all(), metric)
    add(
        (
            await session.execute(select(Meeting.area_id, func.count()).group_by(Meeting.area_id))
        ).all(),
        MEETINGS,
    )
    suggestions = (
        select(Meeting.area_id, func.count())
        .select_from(Suggestion)
        .join(Meeting, Meeting.id == Suggestion.meeting_id)
        .group_by(Meeting.area_id)
    )
    add((await session.execute(suggestions)).all(), SUGGESTIONS)
    items = select(
        LedgerItem.area_id, LedgerItem.ledger, LedgerItem.category, LedgerItem.status, func.count()
    ).group_by(LedgerItem.area_id, LedgerItem.ledger, LedgerItem.category, LedgerItem.status)
    for area_id, ledger, category, status, count in (await session.execute(items)).all():
        leaf[(area_id, ITEMS, item_key(ledger, category, status))] += count
        leaf[(area_id, ITEM_STATUS, status_key(ledger, status))] += count
    needy = (
        select(g, LedgerItemReason.reason, func.count(func.distinct(LedgerItem.household_id)))
        .select_from(LedgerItem)
        .join(LedgerItemReason, LedgerItemReason.item_id == LedgerItem.id)
        .join(Household, Household.id == LedgerItem.household_id)
        .where(LedgerItem.ledger == Ledger.HARDSHIP)
        .group_by(g, LedgerItemReason.reason)
    )
    add((await session.execute(needy)).all(), NEEDY, lambda reason: reason)
    return {k: v for k, v in leaf.items() if v}


async def stored(session: AsyncSession) -> Counts:
    rows = await session.execute(
        select(AreaCounter.area_id, AreaCounter.metric, AreaCounter.key, AreaCounter.value)
    )
    return {(a, m, k): v for a, m, k, v in rows.all() if v and m != VERSION}


async def rebuild(session: AsyncSession) -> int:
    """Replace counters and tallies with a recount from the base rows; returns counters.
    Every area's version moves on (versions are never reset)."""
    await session.execute(delete(AreaCounter).where(AreaCounter.metric != VERSION))
    await session.execute(delete(HouseholdTally))
    await session.execute(delete(CadreTally))
    await session.execute(
        insert(HouseholdTally).from_select(
            ["household_id", "kind", "value"],
            select(Visit.household_id, literal("visits"), func.count()).group_by(
                Visit.household_id
            ),
        )
    )
    await session.execute(
        insert(HouseholdTally).from_select(
            ["household_id", "kind", "value"],
            select(
                LedgerItem.household_id,
                literal("reason:") + LedgerItemReason.reason,
                func.count(),
            )
            .join(LedgerItemReason, LedgerItemReason.item_id == LedgerItem.id)
            .where(LedgerItem.ledger == Ledger.HARDSHIP, LedgerItem.household_id.is_not(None))
            .group_by(LedgerItem.household_id, LedgerItemReason.reason),
        )
    )
    await session.execute(
        insert(CadreTally).from_select(
            ["cadre_id", "household_id", "visits"],
            select(Visit.cadre_id, Visit.household_id, func.count()).group_by(
                Visit.cadre_id, Visit.household_id
            ),
        )
    )
    per_cadre = select(func.count()).where(CadreTally.cadre_id == Cadre.id).scalar_subquery()
    await session.execute(update(Cadre).values(households_visited=per_cadre))
    counts = await recount(session)
    values = [
        {"area_id": a, "metric": m, "key": k, "value": v} for (a, m, k), v in sorted(counts.items())
    ]
    for start in range(0, len(values), 5000):
        await session.execute(insert(AreaCounter), values[start : start + 5000])
    kinds = [select(literal(kind).label("key")) for kind in sorted(set(VERSION_OF.values()))]
    versions = union_all(*kinds).subquery("kinds")
    moved = upsert_into(session, AreaCounter).from_select(
        ["area_id", "metric", "key", "value"],
        select(Area.id, literal(VERSION), versions.c.key, literal(1))
        .join(versions, true())
        .where(true()),
    )
    await session.execute(
        moved.on_conflict_do_update(
            index_elements=["area_id", "metric", "key"],
            set_={"value": AreaCounter.value + 1},
        )
    )
    return len(values)
