"""The floor: the best single SQL statement for each benchmark query, from its own process.

    .venv/bin/python -m bench.floor URL rollup|overdue|stability --code CODE
        [--as-of 2014-03-01] [--calls 200] [--seconds 8] [--answer]

An asyncpg client on uvloop with a pool of 16 connections runs one prepared
statement that returns exactly the numbers the API query answers (the same
inputs: the area's code and the date): warm-up, then at least ``--calls``
sequential calls (and at least ``--c1-seconds``) for p50/p99, then
``--seconds`` at 16 concurrent for requests/s. Prints one JSON object to
stdout, with this process's own CPU share in each phase (1.0 = one core): a
share near 1 means the floor is bound by this client, not by PostgreSQL.

``--answer`` prints the statement's answer in the API's JSON shape instead
(``bench.run`` compares it with the API's answer).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import time
from typing import Any

import asyncpg
import uvloop
from sqlalchemy.engine import make_url

from bench.measure import Span
from db.ledgers import HARDSHIP_REASONS, Status

# Q1-Q3: the area and its children, each with households, visited households,
# coverage, visits, items by status (all ledgers summed) and needy households by
# reason, pivoted to one row per area from the kept counters in one aggregation:
# a column per status and per reason (the API leaves the zero ones out).
STATUSES = sorted(s.value for s in Status)
REASONS = sorted(HARDSHIP_REASONS)
_COLUMNS = [
    f"coalesce(sum(c.value) FILTER (WHERE c.metric = 'item_status'"
    f" AND c.key LIKE '%|{status}'), 0)::bigint AS \"status {status}\""
    for status in STATUSES
] + [
    f"coalesce(sum(c.value) FILTER (WHERE c.metric = 'needy' AND c.key = '{reason}'), 0)::bigint"
    f' AS "reason {reason}"'
    for reason in REASONS
]
ROLLUP = f"""
SELECT *, CASE WHEN households = 0 THEN 0 ELSE round(100.0 * visited / households, 2) END
  AS coverage
FROM (
  SELECT a.id = p.id AS self, a.name, a.code, a.path,
    coalesce(sum(c.value) FILTER (WHERE c.metric = 'households'), 0)::bigint AS households,
    coalesce(sum(c.value) FILTER (WHERE c.metric = 'visited_households'), 0)::bigint AS visited,
    coalesce(sum(c.value) FILTER (WHERE c.metric = 'visits'), 0)::bigint AS visits,
    {", ".join(_COLUMNS)}
  FROM area p JOIN area a ON a.id = p.id OR a.parent_id = p.id
  LEFT JOIN area_counter c ON c.area_id = a.id
    AND c.metric IN ('households', 'visited_households', 'visits', 'item_status', 'needy')
  WHERE p.code = $1
  GROUP BY a.id, p.id
) q
ORDER BY self DESC, path
"""

# Q4: items open on the date and past their deadline, per child, from the base
# rows (one range scan of the area's subtree; paths are fixed-width segments).
OVERDUE = """
WITH p AS (SELECT id, path FROM area WHERE code = $1),
o AS (
  SELECT substr(i.area_path, 1, length(p.path) + 9) AS child, count(*) AS n
  FROM p JOIN ledger_item i
    ON i.area_path >= p.path AND i.area_path < left(p.path, -1) || '0'
  WHERE i.received_on <= $2 AND i.deadline < $2 AND (i.closed_on IS NULL OR i.closed_on > $2)
  GROUP BY 1
)
SELECT t.name, coalesce(o.n, 0) AS n
FROM p JOIN area t ON t.parent_id = p.id LEFT JOIN o ON o.child = t.path
ORDER BY t.path
"""

# Q5: per child, the counts of stability items by category and status (the
# counters), ordered as the API orders them.
STABILITY = """
SELECT t.name,
  coalesce(array_agg(c.value ORDER BY split_part(c.key, '|', 2) COLLATE "C",
                     split_part(c.key, '|', 3) COLLATE "C")
           FILTER (WHERE c.value <> 0), '{}') AS counts
FROM area p JOIN area t ON t.parent_id = p.id
LEFT JOIN area_counter c
  ON c.area_id = t.id AND c.metric = 'items' AND c.key LIKE 'stability|%'
WHERE p.code = $1
GROUP BY t.id
ORDER BY t.path
"""

STATEMENTS = {"rollup": ROLLUP, "overdue": OVERDUE, "stability": STABILITY}


def _rollup_fields(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "households": row["households"],
        "visitedHouseholds": row["visited"],
        "coverage": float(row["coverage"]),
        "personVisits": row["visits"],
        "itemsByStatus": [
            {"status": s, "count": row[f"status {s}"]} for s in STATUSES if row[f"status {s}"]
        ],
        "needyHouseholds": [
            {"reason": r, "households": row[f"reason {r}"]} for r in REASONS if row[f"reason {r}"]
        ],
    }


def api_shape(query: str, rows: list[asyncpg.Record]) -> dict[str, Any]:
    """The statement's rows as the GraphQL query's ``data`` (for comparing answers)."""
    if query == "rollup":
        head, children = rows[0], rows[1:]
        assert head["self"], "the area's own row comes first"
        return {
            "area": {
                "name": head["name"],
                "rollup": _rollup_fields(head),
                "children": [
                    {"name": r["name"], "code": r["code"], "rollup": _rollup_fields(r)}
                    for r in children
                ],
            }
        }
    if query == "overdue":
        children = [{"name": r["name"], "rollup": {"overdueItems": r["n"]}} for r in rows]
    else:
        children = [
            {"name": r["name"], "rollup": {"items": [{"count": n} for n in r["counts"]]}}
            for r in rows
        ]
    return {"area": {"children": children}}


async def _pool(url: str, size: int = 16, plans: str = "auto") -> asyncpg.Pool:
    parsed = make_url(url)
    pool = await asyncpg.create_pool(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, database=parsed.database, min_size=size, max_size=size,
        # No JIT (it only costs here); plans: PostgreSQL's default "auto" takes the
        # generic plan of a prepared statement once it costs no more than custom ones.
        server_settings={"jit": "off", "plan_cache_mode": plans},
    )  # fmt: skip
    assert pool is not None
    return pool


async def measure(
    pool: asyncpg.Pool, sql: str, params: list[Any], calls: int, c1_seconds: float, seconds: float
) -> dict[str, Any]:
    async def call(connection: asyncpg.Connection) -> None:
        await connection.fetch(sql, *params)  # prepared once per connection (asyncpg's cache)

    async with pool.acquire() as connection:
        for _ in range(20):
            await call(connection)

    # Every connection has the statement prepared before the clock starts.
    async def warm() -> None:
        async with pool.acquire() as connection:
            for _ in range(5):
                await call(connection)

    await asyncio.gather(*(warm() for _ in range(16)))

    latencies: list[float] = []
    with Span(pid=os.getpid()) as c1:
        async with pool.acquire() as connection:
            deadline = time.perf_counter() + c1_seconds
            while len(latencies) < calls or time.perf_counter() < deadline:
                started = time.perf_counter()
                await call(connection)
                latencies.append(time.perf_counter() - started)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as connection:
            while time.perf_counter() < deadline:
                await call(connection)
                done += 1

    with Span(pid=os.getpid()) as c16:
        await asyncio.gather(*(worker() for _ in range(16)))
    q = statistics.quantiles(latencies, n=100)
    return {
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "c1_calls": len(latencies),
        "rps_c16": done / c16.wall,
        "c16_calls": done,
        "cpu_c1": c1.share,
        "cpu_c16": c16.share,
        "box_busy_c16": c16.box,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    sql = STATEMENTS[args.query]
    params: list[Any] = [args.code]
    if args.query == "overdue":
        params.append(dt.date.fromisoformat(args.as_of))
    pool = await _pool(args.url, 1 if args.answer else 16, args.plans)
    try:
        if args.answer:
            return api_shape(args.query, await pool.fetch(sql, *params))
        return await measure(pool, sql, params, args.calls, args.c1_seconds, args.seconds)
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("query", choices=sorted(STATEMENTS))
    parser.add_argument("--code", required=True)
    parser.add_argument("--as-of", default="2014-03-01")
    parser.add_argument("--calls", type=int, default=200, help="sequential calls, at least")
    parser.add_argument("--c1-seconds", type=float, default=0.0, help="sequential, at least")
    parser.add_argument("--seconds", type=float, default=8.0, help="at 16 concurrent")
    parser.add_argument("--answer", action="store_true", help="print the answer, API-shaped")
    parser.add_argument(
        "--plans",
        default="auto",
        choices=["auto", "force_custom_plan", "force_generic_plan"],
        help="plan_cache_mode",
    )
    args = parser.parse_args()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(json.dumps(asyncio.run(main_async(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
