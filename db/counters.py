"""Per-area counters, kept in the transaction of every write, and their recount.

Each counter holds a count for an area's whole subtree: a write adds its delta
to the area that holds the row and to every ancestor (one upsert statement for
all of them). Rows are always locked in one order, deepest area first (so
concurrent writers never deadlock, and the county's row, which every write
touches, is locked last), and as late as the transaction allows: a write in
``deferred`` adds its bumps up and upserts them when it ends, just before its
commit. Distinct counts (households visited, a cadre's households, needy
households by reason) are decided by tallies: the first visit to a household
is the one that takes its tally from 0 to 1.

``recount`` computes every counter from the base rows alone; ``rebuild``
replaces the counters and tallies with it. Tests hold the two equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    CTE,
    Integer,
    String,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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
from db.paths import SEPARATOR, ancestor_ids

QUOTA = 20  # households each agency cadre visits at least (每人至少20户)

HOUSEHOLDS = "households"
VISITED = "visited_households"
VISITS = "visits"
CADRES = "cadres"
CADRES_ACTIVE = "cadres_active"
CADRES_AT_QUOTA = "cadres_at_quota"
MEETINGS = "meetings"
SUGGESTIONS = "suggestions"
CONDOLENCE_FEN = "condolence_fen"
CONDOLENCE_PEOPLE = "condolence_people"
ITEMS = "items"  # key: ledger|category|status
ITEM_STATUS = "item_status"  # key: ledger|status (the coarse view most screens show)
NEEDY = "needy"
# Not a count: versions. An area's version of a kind (its key) is how many writes have
# changed something of that kind in the area's subtree: its tree (households,
# cadres, children), its visits (and what cadres' visits make of them), its meetings,
# its ledger items. Every write adds 1 for each area whose subtree it touched, with
# its counters, so versions only ever grow; a cached rollup answer of an area is still
# exact while the versions of the kinds it shows are the ones it was read with.
VERSION = "version"
TREE, OF_VISITS, OF_MEETINGS, OF_ITEMS = "tree", "visits", "meetings", "items"
VERSION_OF = {  # which kind of version each counter's change moves
    HOUSEHOLDS: TREE,
    CADRES: TREE,
    VISITS: OF_VISITS,
    VISITED: OF_VISITS,
    CONDOLENCE_FEN: OF_VISITS,
    CONDOLENCE_PEOPLE: OF_VISITS,
    CADRES_ACTIVE: OF_VISITS,
    CADRES_AT_QUOTA: OF_VISITS,
    MEETINGS: OF_MEETINGS,
    SUGGESTIONS: OF_MEETINGS,
    ITEMS: OF_ITEMS,
    ITEM_STATUS: OF_ITEMS,
    NEEDY: OF_ITEMS,
}

Counts = dict[tuple[int, str, str], int]


def item_key(ledger: str, category: str, status: str) -> str:
    return f"{ledger}|{category}|{status}"


def status_key(ledger: str, status: str) -> str:
    return f"{ledger}|{status}"


def split_item_key(key: str) -> tuple[str, str, str]:
    ledger, category, status = key.split("|")
    return ledger, category, status


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


Rows = dict[tuple[int, str, str], int]  # (area id, metric, key) -> delta
_DEFERRED = "grassroots_counters_deferred"  # session.info: (rows, depth of each area)


@asynccontextmanager
async def deferred(session: AsyncSession) -> AsyncIterator[None]:
    """Bumps inside the block are added up and upserted when it ends without error.

    A write's counter rows — its county's above all, which every write updates —
    are then locked at the end of its transaction, for the shortest time.
    """
    if _DEFERRED in session.info:  # already deferred: the outer block applies them
        yield
        return
    rows: Rows = defaultdict(int)
    depths: dict[int, int] = {}
    session.info[_DEFERRED] = (rows, depths)
    try:
        yield
    finally:
        del session.info[_DEFERRED]
    await _upsert(session, rows, depths)


async def bump(session: AsyncSession, deltas: Mapping[tuple[str, str, str], int]) -> None:
    """Add ``deltas`` keyed (area path, metric, key) to the area and all its ancestors."""
    pending: tuple[Rows, dict[int, int]] | None = session.info.get(_DEFERRED)
    rows, depths = pending or (defaultdict(int), {})
    # Every area a write touched changes version, even when its counts came out even.
    touched = {
        (path, VERSION, key if metric == VERSION else VERSION_OF[metric]): 1
        for path, metric, key in deltas
    }
    for (path, metric, key), delta in {**deltas, **touched}.items():
        if delta:
            for depth, area_id in enumerate(ancestor_ids(path)):
                rows[(area_id, metric, key)] += delta
                depths[area_id] = depth
    if _DEFERRED not in session.info:
        await _upsert(session, rows, depths)


async def changed(session: AsyncSession, *paths: str) -> None:
    """The areas of ``paths`` (and their ancestors) changed in a way no count shows: their
    rows or their children. Their tree versions move on."""
    await bump(session, {(path, VERSION, TREE): 0 for path in paths})


async def _upsert(session: AsyncSession, rows: Rows, depths: Mapping[int, int]) -> None:
    """One upsert for every row, in the fixed order: deepest area first, then ids."""
    order = sorted(rows, key=lambda row: (-depths[row[0]], row))
    values = [
        {"area_id": a, "metric": m, "key": k, "value": rows[(a, m, k)]}
        for a, m, k in order
        if rows[(a, m, k)]
    ]
    if not values:
        return
    statement = _insert(session, AreaCounter)
    statement = statement.on_conflict_do_update(
        index_elements=["area_id", "metric", "key"],
        set_={"value": AreaCounter.value + statement.excluded.value},
    )
    await session.execute(statement, values)


async def _tally(
    session: AsyncSession, table: Any, keys: list[str], rows: list[dict[str, Any]], column: str
) -> dict[tuple[Any, ...], int]:
    """Upsert-increment tallies; returns each one's value after the increment."""
    if not rows:
        return {}
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    statement = _insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={column: getattr(table, column) + statement.excluded[column]}
    ).returning(*(getattr(table, k) for k in keys), getattr(table, column))
    found: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(rows), 500):
        result = await session.execute(statement, rows[start : start + 500])
        for row in result.all():
            found[tuple(row[:-1])] = row[-1]
    return found


async def visits_recorded(session: AsyncSession, visit_ids: Sequence[int]) -> None:
    """Count newly inserted visits: a handful of statements however many there are."""
    if not visit_ids:
        return
    home = Area.__table__.alias("home")  # the visiting cadre's area (its counts by window)
    rows = (
        await session.execute(
            select(
                Visit.household_id,
                Visit.cadre_id,
                Visit.condolence_fen,
                Visit.people_visited,
                Area.path,
                home.c.path,
            )
            .join(Household, Household.id == Visit.household_id)
            .join(Area, Area.id == Household.group_id)
            .join(Cadre, Cadre.id == Visit.cadre_id)
            .outerjoin(home, home.c.id == Cadre.area_id)
            .where(Visit.id.in_(visit_ids))
        )
    ).all()
    deltas: dict[tuple[str, str, str], int] = defaultdict(int)
    per_household: dict[int, int] = defaultdict(int)
    per_pair: dict[tuple[int, int], int] = defaultdict(int)
    group_of: dict[int, str] = {}
    for household_id, cadre_id, fen, people, path, cadre_path in rows:
        if cadre_path is not None:
            deltas[(cadre_path, VERSION, OF_VISITS)] = 0  # bump() moves the version on
        deltas[(path, VISITS, "")] += 1
        deltas[(path, CONDOLENCE_FEN, "")] += fen or 0
        deltas[(path, CONDOLENCE_PEOPLE, "")] += people or 0
        per_household[household_id] += 1
        per_pair[(cadre_id, household_id)] += 1
        group_of[household_id] = path
    after = await _tally(
        session,
        HouseholdTally,
        ["household_id", "kind"],
        [{"household_id": h, "kind": "visits", "value": n} for h, n in per_household.items()],
        "value",
    )
    for (household_id, _kind), value in after.items():
        if value == per_household[household_id]:  # was 0 before this batch
            deltas[(group_of[household_id], VISITED, "")] += 1
    pairs = await _tally(
        session,
        CadreTally,
        ["cadre_id", "household_id"],
        [{"cadre_id": c, "household_id": h, "visits": n} for (c, h), n in per_pair.items()],
        "visits",
    )
    new_households: dict[int, int] = defaultdict(int)
    for (cadre_id, household_id), value in pairs.items():
        if value == per_pair[(cadre_id, household_id)]:
            new_households[cadre_id] += 1
    if new_households:
        # One statement for every cadre of the batch: add each one's new households.
        result = await session.execute(
            update(Cadre)
            .where(Cadre.id.in_(sorted(new_households)))
            .values(
                households_visited=Cadre.households_visited
                + case(new_households, value=Cadre.id, else_=0)
            )
            .returning(Cadre.id, Cadre.households_visited, Cadre.area_id)
        )
        updated = result.all()
        paths = dict(
            (
                await session.execute(
                    select(Area.id, Area.path).where(Area.id.in_({a for _c, _t, a in updated}))
                )
            ).all()
        )
        for cadre_id, total, area_id in updated:
            cadre_path = paths[area_id]
            before = total - new_households[cadre_id]
            if before == 0:
                deltas[(cadre_path, CADRES_ACTIVE, "")] += 1
            if before < QUOTA <= total:
                deltas[(cadre_path, CADRES_AT_QUOTA, "")] += 1
    await bump(session, deltas)


def one_visit_counted(visit: CTE) -> CTE:
    """``visits_recorded`` for one visit, as CTEs of the statement that inserts it (PostgreSQL).

    ``visit`` is the inserted visit, one row: ``household_id``, ``cadre_id``,
    ``condolence_fen``, ``people_visited`` and ``path`` (its household's group's).
    The tallies are upserted (household, then cadre × household), the cadre's
    distinct households moved on a first pair, and every counter of the group's
    and the cadre's areas and all their ancestors upserted by one INSERT in the
    fixed order. Returns that upsert: reference it last, so that the counter rows
    are the statement's last locks.
    """
    household = (
        postgresql.insert(HouseholdTally)
        .from_select(
            ["household_id", "kind", "value"],
            select(visit.c.household_id, literal("visits", String()), literal(1, Integer())),
        )
        .on_conflict_do_update(
            index_elements=["household_id", "kind"], set_={"value": HouseholdTally.value + 1}
        )
        .returning(HouseholdTally.value)
        .cte("household_tally_after")
    )
    pair = (
        postgresql.insert(CadreTally)
        .from_select(
            ["cadre_id", "household_id", "visits"],
            # From the household's tally too: the rows are locked in that order.
            select(visit.c.cadre_id, visit.c.household_id, literal(1, Integer())).join(
                household, true()
            ),
        )
        .on_conflict_do_update(
            index_elements=["cadre_id", "household_id"], set_={"visits": CadreTally.visits + 1}
        )
        .returning(CadreTally.cadre_id, CadreTally.visits)
        .cte("cadre_tally_after")
    )
    cadre = (
        update(Cadre)
        .where(Cadre.id == pair.c.cadre_id, pair.c.visits == 1)
        .values(households_visited=Cadre.households_visited + 1)
        .returning(Cadre.households_visited, Cadre.area_id)
        .cte("cadre_after")
    )
    cadre_area = (
        select(Area.path, cadre.c.households_visited.label("households"))
        .join(cadre, cadre.c.area_id == Area.id)
        .cte("cadre_area")
    )

    def delta(path: Any, metric: str, value: Any, key: str = "") -> Any:
        return select(
            path.label("path"),
            literal(metric, String()).label("metric"),
            literal(key, String()).label("key"),
            value.label("delta"),
        )

    # The visiting cadre's area: its counts by window change, so its version does.
    home = (
        select(Area.path)
        .join(Cadre, Cadre.area_id == Area.id)
        .join(visit, visit.c.cadre_id == Cadre.id)
    ).cte("cadre_home")
    deltas = union_all(
        delta(visit.c.path, VISITS, literal(1, Integer())),
        delta(visit.c.path, VERSION, literal(1, Integer()), OF_VISITS),
        delta(home.c.path, VERSION, literal(1, Integer()), OF_VISITS),
        delta(visit.c.path, CONDOLENCE_FEN, visit.c.condolence_fen).where(
            visit.c.condolence_fen > 0
        ),
        delta(visit.c.path, CONDOLENCE_PEOPLE, visit.c.people_visited).where(
            visit.c.people_visited > 0
        ),
        delta(visit.c.path, VISITED, literal(1, Integer()))
        .join(household, true())
        .where(household.c.value == 1),
        delta(cadre_area.c.path, CADRES_ACTIVE, literal(1, Integer())).where(
            cadre_area.c.households == 1
        ),
        delta(cadre_area.c.path, CADRES_AT_QUOTA, literal(1, Integer())).where(
            cadre_area.c.households == QUOTA
        ),
    ).cte("deltas")
    # Each area on the path, root first: /00000001/00000004/ -> (1, 1), (4, 2).
    ancestors = (
        func.unnest(func.string_to_array(func.btrim(deltas.c.path, SEPARATOR), SEPARATOR))
        .table_valued("id", with_ordinality="depth")
        .render_derived()
    )
    area_id = cast(ancestors.c.id, Integer())
    rows = (
        select(area_id, deltas.c.metric, deltas.c.key, func.sum(deltas.c.delta))
        .join(ancestors, true())
        .group_by(area_id, ancestors.c.depth, deltas.c.metric, deltas.c.key)
        .order_by(ancestors.c.depth.desc(), area_id, deltas.c.metric, deltas.c.key)
    )
    upsert = postgresql.insert(AreaCounter).from_select(["area_id", "metric", "key", "value"], rows)
    return (
        upsert.on_conflict_do_update(
            index_elements=["area_id", "metric", "key"],
            set_={"value": AreaCounter.value + upsert.excluded.value},
        )
        .returning(AreaCounter.area_id)
        .cte("counters_after")
    )


async def items_recorded(session: AsyncSession, item_ids: Sequence[int]) -> None:
    """Count newly inserted ledger items (and their needy households, by reason)."""
    if not item_ids:
        return
    items = (
        await session.execute(
            select(
                LedgerItem.id,
                LedgerItem.ledger,
                LedgerItem.category,
                LedgerItem.status,
                LedgerItem.department_id,
                LedgerItem.area_path,
                LedgerItem.household_id,
            ).where(LedgerItem.id.in_(item_ids))
        )
    ).all()
    deltas: dict[tuple[str, str, str], int] = defaultdict(int)
    hardship: dict[int, int] = {}
    for item_id, ledger, category, status, _department, path, household_id in items:
        deltas[(path, ITEMS, item_key(ledger, category, status))] += 1
        deltas[(path, ITEM_STATUS, status_key(ledger, status))] += 1
        if ledger == Ledger.HARDSHIP and household_id is not None:
            hardship[item_id] = household_id
    if hardship:
        reasons = (
            await session.execute(
                select(LedgerItemReason.item_id, LedgerItemReason.reason).where(
                    LedgerItemReason.item_id.in_(list(hardship))
                )
            )
        ).all()
        per_pair: dict[tuple[int, str], int] = defaultdict(int)
        for item_id, reason in reasons:
            per_pair[(hardship[item_id], "reason:" + reason)] += 1
        after = await _tally(
            session,
            HouseholdTally,
            ["household_id", "kind"],
            [{"household_id": h, "kind": k, "value": n} for (h, k), n in per_pair.items()],
            "value",
        )
        firsts = [(h, k) for (h, k), v in after.items() if v == per_pair[(h, k)]]
        if firsts:
            paths = dict(
                (
                    await session.execute(
                        select(Household.id, Area.path)
                        .join(Area, Area.id == Household.group_id)
                        .where(Household.id.in_(sorted({h for h, _k in firsts})))
                    )
                ).all()
            )
            for household_id, kind in firsts:
                deltas[(paths[household_id], NEEDY, kind.removeprefix("reason:"))] += 1
    await bump(session, deltas)


async def item_moved(
    session: AsyncSession,
    before: tuple[str, str, str, str, int | None],
    after: tuple[str, str, str, str, int | None],
) -> None:
    """An item's (path, ledger, category, status, department) changed in a transition
    (or only what these do not name, such as its closing day: its areas change version)."""
    old_path, *old = before
    new_path, *new = after
    deltas: dict[tuple[str, str, str], int] = defaultdict(int)
    old_ledger, old_category, old_status, _old_department = old
    new_ledger, new_category, new_status, _new_department = new
    deltas[(old_path, ITEMS, item_key(str(old_ledger), str(old_category), str(old_status)))] -= 1
    deltas[(new_path, ITEMS, item_key(str(new_ledger), str(new_category), str(new_status)))] += 1
    deltas[(old_path, ITEM_STATUS, status_key(str(old_ledger), str(old_status)))] -= 1
    deltas[(new_path, ITEM_STATUS, status_key(str(new_ledger), str(new_status)))] += 1
    await bump(session, deltas)


async def meeting_recorded(session: AsyncSession, area_path: str, suggestions: int) -> None:
    await bump(session, {(area_path, MEETINGS, ""): 1, (area_path, SUGGESTIONS, ""): suggestions})


async def suggestion_added(session: AsyncSession, area_path: str) -> None:
    await bump(session, {(area_path, SUGGESTIONS, ""): 1})


# -- recount and rebuild ------------------------------------------------------------


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
    moved = _insert(session, AreaCounter).from_select(
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
