"""Counting visits: a batch set-based (``visits_recorded``), or one visit as CTEs of the
statement that inserts it (``one_visit_counted``, PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    Integer,
    String,
    case,
    cast,
    func,
    literal,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from db.counters.bumps import bump, tally
from db.counters.keys import (
    CADRES_ACTIVE,
    CADRES_AT_QUOTA,
    CONDOLENCE_FEN,
    CONDOLENCE_PEOPLE,
    OF_VISITS,
    QUOTA,
    VERSION,
    VISITED,
    VISITS,
)
from db.models import (
    Area,
    AreaCounter,
    Cadre,
    CadreTally,
    Household,
    HouseholdTally,
    Visit,
)
from db.paths import SEPARATOR


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
    after = await tally(
        session,
        HouseholdTally,
        ["household_id", "kind"],
        [{"household_id": h, "kind": "visits", "value": n} for h, n in per_household.items()],
        "value",
    )
    for (household_id, _kind), value in after.items():
        if value == per_household[household_id]:  # was 0 before this batch
            deltas[(group_of[household_id], VISITED, "")] += 1
    pairs = await tally(
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
