"""A deterministic county (or ten) at the report's scale, loaded into PostgreSQL fast.

    .venv/bin/python -m bench.generate --scale LU1 [--database postgres|URL]

LU1 is one county with the figures of the source report: 19 townships, 251
villages and 46 communities, ~3,000 groups, 260,000 households (every one
visited), ~620,000 visits by ~3,700 agency cadres (each at least 20 households)
and ~1,500 village cadres, 500 meetings, 530 suggestions, 28,000 ledger items
(25,000 needy households, 500 stability items in 12 categories), Spring Festival
condolence visits. LU10 is ten such counties side by side (ten roots: the tree
has no prefecture level). Rows are written with COPY, then the counters are
rebuilt from them. Prints a progress bar and the time it took.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
from rich.progress import Progress
from sqlalchemy.engine import make_url

from bench.common import DEFAULT_POSTGRES, fresh_database
from db import counters
from db.engine import create_engine, create_sessionmaker, write_transaction
from db.ledgers import CATALOG, HARDSHIP_REASONS, STABILITY_CATEGORIES, Ledger, Status
from db.paths import child_path
from db.workdays import add_working_days
from policies.authorizer import shipped_rules

TOWNSHIPS = 19
VILLAGES = 251
COMMUNITIES = 46
HOUSEHOLDS = 260_000
VISITS = 620_000
AGENCY_CADRES = 3_700
VILLAGE_CADRES = 1_492
MEETINGS = 500
SUGGESTIONS = 530
NEEDY = 25_000
STABILITY = 500
LIVELIHOOD = 1_700
DEPARTMENT_ITEMS = 800
DEPARTMENTS = 60
START = dt.date(2014, 1, 2)
DAYS = 58


@dataclass
class Ids:
    area: int = 0
    household: int = 0
    cadre: int = 0
    visit: int = 0
    meeting: int = 0
    suggestion: int = 0
    item: int = 0
    department: int = 0

    def next(self, name: str) -> int:
        value: int = getattr(self, name) + 1
        setattr(self, name, value)
        return value


@dataclass
class County:
    """What one county's generation produced, for the benchmark to find its way."""

    county_id: int
    code: str
    township_ids: list[int] = field(default_factory=list)
    village_ids: list[int] = field(default_factory=list)


def _spread(total: int, parts: int, rng: random.Random) -> list[int]:
    weights = [rng.uniform(0.7, 1.3) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(w * scale) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def county_rows(
    index: int, ids: Ids, rng: random.Random
) -> tuple[County, dict[str, list[tuple[object, ...]]]]:
    """Every row of one county, as tuples in table column order."""
    rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in TABLES}
    code = f"{519900 + index:06d}"
    county_id = ids.next("area")
    county_path = child_path(None, county_id)
    county = County(county_id, code)
    rows["area"].append((county_id, None, "county", code, f"县{index}", county_path, 0))
    departments = []
    for d in range(DEPARTMENTS):
        department_id = ids.next("department")
        kind = ["leading_organ", "law_enforcement", "service_window", "service_industry"][d % 4]
        rows["department"].append((department_id, None, county_id, kind, f"部门{d}"))
        departments.append(department_id)
    places = [("village", n) for n in range(VILLAGES)] + [
        ("community", n) for n in range(COMMUNITIES)
    ]
    rng.shuffle(places)
    per_township = _spread(len(places), TOWNSHIPS, rng)
    groups: list[tuple[int, str, int]] = []  # id, path, village id
    village_paths: dict[int, str] = {}
    cursor = 0
    for t in range(TOWNSHIPS):
        township_id = ids.next("area")
        township_path = child_path(county_path, township_id)
        township_code = f"{code}{100 + t + 1:03d}"
        rows["area"].append(
            (township_id, county_id, "township", township_code, f"镇{t}", township_path, 1)
        )
        county.township_ids.append(township_id)
        for v in range(per_township[t]):
            level, _n = places[cursor]
            cursor += 1
            village_id = ids.next("area")
            village_path = child_path(township_path, village_id)
            village_paths[village_id] = village_path
            rows["area"].append(
                (
                    village_id,
                    township_id,
                    level,
                    f"{township_code}{v + 1:03d}",
                    f"村{village_id}",
                    village_path,
                    2,
                )
            )
            county.village_ids.append(village_id)
            for g in range(rng.randint(8, 12)):
                group_id = ids.next("area")
                group_path = child_path(village_path, group_id)
                rows["area"].append(
                    (group_id, village_id, "group", None, f"{g + 1}组", group_path, 3)
                )
                groups.append((group_id, group_path, village_id))
    households: list[tuple[int, int]] = []  # id, group index
    for gi, count in enumerate(_spread(HOUSEHOLDS, len(groups), rng)):
        for n in range(count):
            household_id = ids.next("household")
            rows["household"].append(
                (
                    household_id,
                    groups[gi][0],
                    f"{n + 1:03d}",
                    f"户主{household_id}",
                    None,
                    None,
                    3,
                    None,
                )
            )
            households.append((household_id, gi))
    agency = []
    for n in range(AGENCY_CADRES):
        cadre_id = ids.next("cadre")
        rows["cadre"].append(
            (cadre_id, f"干部{cadre_id}", "agency", county_id, departments[n % DEPARTMENTS], None)
        )
        agency.append(cadre_id)
    village_cadres: dict[int, list[int]] = {v: [] for v in county.village_ids}
    for n in range(VILLAGE_CADRES):
        village_id = county.village_ids[n % len(county.village_ids)]
        cadre_id = ids.next("cadre")
        rows["cadre"].append((cadre_id, f"村干部{cadre_id}", "village", village_id, None, None))
        village_cadres[village_id].append(cadre_id)
    # Visits: every household once (by a village cadre of its village, or an agency
    # cadre), each agency cadre 20 distinct households, the rest at random.
    by_village: dict[int, list[int]] = {}
    for household_id, gi in households:
        by_village.setdefault(groups[gi][2], []).append(household_id)

    def visit(cadre_id: int, household_id: int) -> None:
        day = START + dt.timedelta(days=rng.randrange(DAYS))
        condolence = rng.random() < 0.05
        rows["visit"].append(
            (
                ids.next("visit"), cadre_id, household_id, day, "",
                "condolence" if condolence else "routine",
                rng.choice([20000, 30000, 50000]) if condolence else None,
                rng.randint(1, 5) if condolence else None,
            )
        )  # fmt: skip

    for household_id, gi in households:
        village_id = groups[gi][2]
        cadres_here = village_cadres[village_id] or agency
        visit(rng.choice(cadres_here), household_id)
    for cadre_id in agency:
        for household_id in rng.sample(
            [h for h, _g in households[:: max(1, len(households) // 5000)]], 20
        ):
            visit(cadre_id, household_id)
    everyone = agency + [c for cs in village_cadres.values() for c in cs]
    while len(rows["visit"]) < VISITS:
        household_id, _gi = households[rng.randrange(len(households))]
        visit(rng.choice(everyone), household_id)
    for n in range(MEETINGS):
        village_id = county.village_ids[n % len(county.village_ids)]
        meeting_id = ids.next("meeting")
        host = (village_cadres[village_id] or agency)[0]
        rows["meeting"].append(
            (meeting_id, village_id, START + dt.timedelta(days=n % DAYS), host, 40, "院坝会", "")
        )
    for n in range(SUGGESTIONS):
        rows["suggestion"].append(
            (ids.next("suggestion"), 1 + (ids.meeting - MEETINGS) + n % MEETINGS, f"建议{n}", None)
        )
    _items(rows, ids, rng, households, groups, village_paths, county, departments, everyone)
    return county, rows


def _items(
    rows: dict[str, list[tuple[object, ...]]],
    ids: Ids,
    rng: random.Random,
    households: list[tuple[int, int]],
    groups: list[tuple[int, str, int]],
    village_paths: dict[int, str],
    county: County,
    departments: list[int],
    cadres: list[int],
) -> None:
    county_path = child_path(None, county.county_id)
    statuses = [Status.RECEIVED, Status.ASSIGNED, Status.PLANNED, Status.RESOLVED, Status.DECLINED]
    needy = rng.sample(households, NEEDY)
    plan: list[tuple[Ledger, int, str, int | None, int | None]] = []
    for household_id, gi in needy:
        plan.append((Ledger.HARDSHIP, groups[gi][0], groups[gi][1], household_id, None))
    for _ in range(STABILITY):
        village_id = rng.choice(county.village_ids)
        plan.append((Ledger.STABILITY, village_id, village_paths[village_id], None, None))
    for _ in range(LIVELIHOOD):
        group_id, path, _v = rng.choice(groups)
        plan.append((Ledger.LIVELIHOOD, group_id, path, None, None))
    kinds = [
        Ledger.KEY_WORK,
        Ledger.NEEDY_EMPLOYEE,
        Ledger.PETITION,
        Ledger.PROJECT_AID,
        Ledger.AID_PAIRING,
    ]
    for n in range(DEPARTMENT_ITEMS):
        plan.append(
            (kinds[n % len(kinds)], county.county_id, county_path, None, rng.choice(departments))
        )
    for ledger, area_id, path, planned_household, department_id in plan:
        concerned = planned_household
        item_id = ids.next("item")
        received = START + dt.timedelta(days=rng.randrange(DAYS))
        status = rng.choice(statuses)
        closed = (
            received + dt.timedelta(days=rng.randint(1, 20))
            if status in (Status.RESOLVED, Status.DECLINED)
            else None
        )
        if ledger == Ledger.HARDSHIP:
            reasons = rng.sample(sorted(HARDSHIP_REASONS), rng.choice([1, 1, 2]))
            category = reasons[0]
        elif ledger == Ledger.STABILITY:
            reasons, category = [], rng.choice(sorted(STABILITY_CATEGORIES))
        else:
            reasons, category = [], rng.choice(sorted(CATALOG[ledger].categories))
        deadline = add_working_days(received, 10)
        if ledger == Ledger.AID_PAIRING and concerned is None:
            concerned = households[rng.randrange(len(households))][0]
        rows["ledger_item"].append(
            (
                item_id, ledger.value, category, f"事项{item_id}", "", area_id, path, department_id,
                concerned, received, rng.choice(cadres),
                rng.choice(cadres) if status is not Status.RECEIVED else None,
                deadline.due, deadline.provisional, status.value,
                ("on_the_spot" if status is Status.RESOLVED else "policy_does_not_allow") if closed else None,
                "不符合政策" if status is Status.DECLINED else None, closed, 1,
            )
        )  # fmt: skip
        for reason in reasons:
            rows["ledger_item_reason"].append((item_id, reason))
        rows["ledger_item_event"].append(
            (item_id, "import", rows["ledger_item"][-1][10], received, None, status.value, "bench")
        )


# table → columns, in the tuples' order
TABLES: dict[str, list[str]] = {
    "area": ["id", "parent_id", "level", "code", "name", "path", "depth"],
    "department": ["id", "parent_id", "county_id", "kind", "name"],
    "household": ["id", "group_id", "number", "head_name", "phone", "id_number", "members", "address"],
    "cadre": ["id", "name", "rank", "area_id", "department_id", "phone"],
    "visit": ["id", "cadre_id", "household_id", "visited_on", "notes", "kind", "condolence_fen", "people_visited"],
    "meeting": ["id", "area_id", "held_on", "host_cadre_id", "attendee_count", "topic", "notes"],
    "suggestion": ["id", "meeting_id", "content", "household_id"],
    "ledger_item": [
        "id", "ledger", "category", "title", "description", "area_id", "area_path", "department_id",
        "household_id", "received_on", "received_by_id", "responsible_id", "deadline",
        "deadline_provisional", "status", "resolution", "decline_reason", "closed_on", "version",
    ],
    "ledger_item_reason": ["item_id", "reason"],
    "ledger_item_event": ["item_id", "action", "actor_id", "occurred_on", "from_status", "to_status", "note"],
}  # fmt: skip


def _chunks(items: list[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def load(url: str, counties: int, *, seed: int = 2014) -> list[County]:
    """Generate and COPY ``counties`` counties into the (empty, migrated) database."""
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, database=parsed.database,
    )  # fmt: skip
    ids = Ids()
    made: list[County] = []
    try:
        with Progress() as progress:
            task = progress.add_task("generating and loading", total=counties * (len(TABLES) + 1))
            for index in range(counties):
                rng = random.Random(seed + index)
                county, rows = county_rows(index + 1, ids, rng)
                progress.advance(task)
                for table, columns in TABLES.items():
                    for chunk in _chunks(rows[table], 200_000):
                        await connection.copy_records_to_table(
                            table, records=chunk, columns=columns
                        )
                    progress.advance(task)
                made.append(county)
        for table in (
            "area",
            "department",
            "household",
            "cadre",
            "visit",
            "meeting",
            "suggestion",
            "ledger_item",
            "ledger_item_event",
        ):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    engine = create_engine(url)
    try:
        async with write_transaction(create_sessionmaker(engine)) as session:
            from db.queries import access as access_queries

            await access_queries.replace_rules(
                session=session, rules=[(r.role, r.obj, r.act, r.eft) for r in shipped_rules()]
            )
            await counters.rebuild(session)
    finally:
        await engine.dispose()
    return made


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["LU1", "LU10"], default="LU1")
    parser.add_argument("--database", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    url = await fresh_database(args.database)
    started = time.perf_counter()
    counties = await load(url, 10 if args.scale == "LU10" else 1)
    elapsed = time.perf_counter() - started
    print(f"{args.scale}: {len(counties)} county(ies) loaded into {url} in {elapsed:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
