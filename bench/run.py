"""The rollup benchmark: GraphQL over HTTP against the raw-SQL floor, in one run.

    .venv/bin/python -m bench.run [--load] [--lu10] [--seconds 8]

Against PostgreSQL (``grassroots_bench``; ``--load`` generates LU1 there first,
``--lu10`` also loads LU10 into ``grassroots_bench10`` and times Q1 on it). Starts
``grassroots serve`` (production settings, one process), then for each query:
p50/p99 latency at concurrency 1 and requests/s at concurrency 16 through HTTP,
and the same for the best single SQL statement from an asyncpg client. A
background client keeps recording visits during the read runs; between runs
the answers of Q1 are checked against a recount from the base rows. Then
``recordVisit`` at concurrency 16 and one ``recordVisits`` batch of 1,000.
Prints a table; writes JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench import generate
from bench.common import DEFAULT_POSTGRES, fresh_database
from db.paths import path_end
from resolvers.auth import AuthConfig, mint_token

SECRET = "bench-secret-bench-secret-bench-secret!"  # noqa: S105 - a local benchmark's own
RESULTS = Path(__file__).parent / "results"
AS_OF = "2014-03-01"
F = """households visitedHouseholds coverage personVisits
  itemsByStatus { status count } needyHouseholds { reason households }"""
ROLLUP = f"""query ($code: String!) {{ area(code: $code) {{
  name rollup {{ {F} }} children {{ name code rollup {{ {F} }} }} }} }}"""
OVERDUE = """query ($code: String!, $asOf: Date!) { area(code: $code) {
  children { name rollup { overdueItems(asOf: $asOf) } } } }"""
STABILITY = """query ($code: String!) { area(code: $code) {
  children { name rollup { items(ledgers: ["stability"]) { count } } } } }"""
RECORD = """mutation ($i: RecordVisitInput!) { recordVisit(input: $i) { visit { id } errors { __typename } } }"""
BATCH = """mutation ($v: [BatchVisitInput!]!, $k: String!) {
  recordVisits(visits: $v, idempotencyKey: $k) { recorded errors { __typename } } }"""
COUNTERS = ["households", "visited_households", "visits", "items", "needy"]


def _global(type_name: str, row_id: int) -> str:
    import base64

    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _pg(url: str) -> asyncpg.Pool:
    parsed = make_url(url)
    pool = await asyncpg.create_pool(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username,
        password=parsed.password, database=parsed.database, min_size=16, max_size=16,
        server_settings={"jit": "off", "plan_cache_mode": "force_custom_plan"},
    )  # fmt: skip
    assert pool is not None
    return pool


async def _measure(call: Callable[[], Awaitable[None]], seconds: float) -> dict[str, float]:
    """p50/p99 at concurrency 1, then requests/s at concurrency 16."""
    for _ in range(20):
        await call()
    latencies = []
    for _ in range(200):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call()
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(16)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {"p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "rps_c16": done / elapsed}


class Bench:
    def __init__(self, url: str, base: str, token: str, pool: asyncpg.Pool, county: str) -> None:
        self.url, self.base, self.pool, self.county = url, base, pool, county
        self.http = httpx.AsyncClient(
            base_url=base,
            headers={"authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            timeout=60,
        )

    async def gql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        body: dict[str, Any] = response.json()
        if response.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{response.status_code}: {body}")
        data: dict[str, Any] = body["data"]
        return data

    async def area(self, code: str) -> tuple[int, str]:
        row = await self.pool.fetchrow("SELECT id, path FROM area WHERE code = $1", code)
        return row["id"], row["path"]

    # -- the floor: the best single statement for the same numbers ---------------------

    async def floor_rollup(self, area_id: int) -> None:
        await self.pool.fetch(
            "SELECT c.area_id, c.metric, c.key, c.value FROM area a"
            " JOIN area_counter c ON c.area_id = a.id"
            " WHERE (a.id = $1 OR a.parent_id = $1) AND c.metric = ANY($2::text[])",
            area_id,
            COUNTERS,
        )

    async def floor_overdue(self, path: str) -> None:
        await self.pool.fetch(
            "SELECT substr(area_path, 1, $4) AS township, count(*) FROM ledger_item"
            " WHERE area_path >= $1 AND area_path < $2 AND received_on <= $3 AND deadline < $3"
            " AND (closed_on IS NULL OR closed_on > $3) GROUP BY 1",
            path,
            path_end(path),
            __import__("datetime").date.fromisoformat(AS_OF),
            len(path) + 9,
        )

    async def floor_stability(self, area_id: int) -> None:
        await self.pool.fetch(
            "SELECT a.id, sum(c.value) FROM area a JOIN area_counter c ON c.area_id = a.id"
            " WHERE a.parent_id = $1 AND c.metric = 'items' AND c.key LIKE 'stability|%'"
            " GROUP BY a.id",
            area_id,
        )

    # -- exactness: Q1 against a recount from the base rows -----------------------------

    async def check_q1(self) -> None:
        data = await self.gql(ROLLUP, {"code": self.county})
        for child in data["area"]["children"]:
            _id, path = await self.area(child["code"])
            visits, visited = await self.pool.fetchrow(
                "SELECT count(*), count(DISTINCT v.household_id) FROM visit v"
                " JOIN household h ON h.id = v.household_id JOIN area g ON g.id = h.group_id"
                " WHERE g.path >= $1 AND g.path < $2",
                path,
                path_end(path),
            )
            got = child["rollup"]
            if (got["personVisits"], got["visitedHouseholds"]) != (visits, visited):
                raise AssertionError(f"Q1 {child['code']}: {got} != recount {visits}, {visited}")


async def _writer(
    bench: Bench, households: list[int], cadres: list[int], stop: asyncio.Event, sent: list[int]
) -> None:
    """Background visits at ~20/s while reads run (the cache must stay exact)."""
    rng = random.Random(7)
    while not stop.is_set():
        values = {
            "householdId": _global("Household", rng.choice(households)),
            "cadreId": _global("Cadre", rng.choice(cadres)),
            "visitedOn": "2014-02-20",
            "idempotencyKey": f"bg-{time.time_ns()}-{rng.random()}",
        }
        await bench.gql(RECORD, {"i": values})
        sent[0] += 1
        await asyncio.sleep(0.05)


async def grant_bench_user(pool: asyncpg.Pool) -> int:
    """The user ``bench``, county leader of the first county; returns that county's id."""
    user_id = await pool.fetchval(
        "INSERT INTO app_user (username, display_name, active) VALUES ('bench', '', true)"
        " ON CONFLICT (username) DO UPDATE SET active = true RETURNING id"
    )
    county_id: int = await pool.fetchval(
        "SELECT id FROM area WHERE parent_id IS NULL ORDER BY id LIMIT 1"
    )
    await pool.execute(
        "INSERT INTO role_assignment (user_id, role, area_id) VALUES ($1, 'county_leader', $2)"
        " ON CONFLICT DO NOTHING",
        user_id,
        county_id,
    )
    await pool.execute("UPDATE policy_version SET version = version + 1")
    return county_id


async def run(
    args: argparse.Namespace, url: str = DEFAULT_POSTGRES, *, only_q1: bool = False
) -> dict[str, Any]:
    if args.load:
        url = await fresh_database(url)
        started = time.perf_counter()
        await generate.load(url, 1)
        print(f"loaded LU1 in {time.perf_counter() - started:.1f} s")
    pool = await _pg(url)
    county_id = await grant_bench_user(pool)
    county = await pool.fetchval("SELECT code FROM area WHERE id = $1", county_id)
    township = await pool.fetchval(
        "SELECT code FROM area WHERE parent_id = $1 ORDER BY id LIMIT 1", county_id
    )
    village = await pool.fetchval(
        "SELECT code FROM area WHERE parent_id = (SELECT id FROM area WHERE code = $1) ORDER BY id LIMIT 1",
        township,
    )
    # Writers sample the bench user's own county (the others are out of its scope).
    county_path = await pool.fetchval("SELECT path FROM area WHERE id = $1", county_id)
    inside = (county_path, path_end(county_path))
    households = [
        r[0]
        for r in await pool.fetch(
            "SELECT h.id FROM household h JOIN area g ON g.id = h.group_id"
            " WHERE g.path >= $1 AND g.path < $2 ORDER BY random() LIMIT 5000",
            *inside,
        )
    ]
    cadres = [
        r[0]
        for r in await pool.fetch(
            "SELECT c.id FROM cadre c JOIN area a ON a.id = c.area_id"
            " WHERE a.path >= $1 AND a.path < $2 ORDER BY random() LIMIT 500",
            *inside,
        )
    ]
    token = mint_token(
        AuthConfig("HS256", SECRET, "grassroots", "grassroots", SECRET), "bench", minutes=240
    )
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "production",
        "JWT_SECRET": SECRET,
        "DB_POOL_SIZE": "16",
    }
    log = open(RESULTS / "server.log", "w")  # noqa: SIM115, ASYNC230 - lives as long as the server
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "grassroots"), "serve", "--port", str(port),
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    results: dict[str, Any] = {}
    try:
        bench = Bench(url, f"http://127.0.0.1:{port}", token, pool, county)
        for _ in range(100):
            try:
                await bench.http.get("/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        ids = {code: await bench.area(code) for code in (county, township, village)}
        queries: dict[str, tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]] = {
            "Q1 county→townships": (
                lambda: bench.gql(ROLLUP, {"code": county}),
                lambda: bench.floor_rollup(ids[county][0]),
            ),
            "Q2 township→villages": (
                lambda: bench.gql(ROLLUP, {"code": township}),
                lambda: bench.floor_rollup(ids[township][0]),
            ),
            "Q3 village→groups": (
                lambda: bench.gql(ROLLUP, {"code": village}),
                lambda: bench.floor_rollup(ids[village][0]),
            ),
            "Q4 overdue per township": (
                lambda: bench.gql(OVERDUE, {"code": county, "asOf": AS_OF}),
                lambda: bench.floor_overdue(ids[county][1]),
            ),
            "Q5 stability per township": (
                lambda: bench.gql(STABILITY, {"code": county}),
                lambda: bench.floor_stability(ids[county][0]),
            ),
        }
        stop = asyncio.Event()
        sent = [0]
        writer = asyncio.create_task(_writer(bench, households, cadres, stop, sent))
        if only_q1:
            queries = dict(list(queries.items())[:1])
        for name, (api, floor) in queries.items():
            api_result = await _measure(api, args.seconds)
            floor_result = await _measure(floor, args.seconds)
            stop.set()
            await writer
            await bench.check_q1()  # exact while writes go on: checked between runs
            stop.clear()
            writer = asyncio.create_task(_writer(bench, households, cadres, stop, sent))
            results[name] = {
                "api": api_result,
                "floor": floor_result,
                "throughput_ratio": api_result["rps_c16"] / floor_result["rps_c16"],
                "p50_ratio": api_result["p50_ms"] / floor_result["p50_ms"],
            }
            print(f"{name}: {results[name]}", flush=True)
        stop.set()
        await writer
        results["background visits during reads"] = sent[0]
        if not only_q1:
            results["recordVisit c16"] = await _writes(bench, households, cadres, args.seconds)
            results["recordVisits batch of 1000"] = await _batch(bench, households, cadres)
            await bench.check_q1()
        status = await asyncio.to_thread(Path(f"/proc/{server.pid}/status").read_text)
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        results["server peak memory"] = peak.split(":", 1)[1].strip()
        await bench.http.aclose()
    finally:
        server.send_signal(signal.SIGINT)
        await server.wait()
        log.close()
        await pool.close()
    if args.lu10:
        results["Q1 at LU10"] = await _lu10(args)
        lu1 = results["Q1 county→townships"]["api"]
        results["Q1 LU10/LU1 p50"] = results["Q1 at LU10"]["p50_ms"] / lu1["p50_ms"]
    return results


async def _writes(
    bench: Bench, households: list[int], cadres: list[int], seconds: float
) -> dict[str, float]:
    rng = random.Random(11)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            values = {
                "householdId": _global("Household", rng.choice(households)),
                "cadreId": _global("Cadre", rng.choice(cadres)),
                "visitedOn": "2014-02-21",
                "idempotencyKey": f"w-{n}-{time.time_ns()}",
            }
            data = await bench.gql(RECORD, {"i": values})
            assert not data["recordVisit"]["errors"], data
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(16)))
    return {"rps_c16": done / (time.perf_counter() - started), "recorded": done}


async def _batch(bench: Bench, households: list[int], cadres: list[int]) -> dict[str, float]:
    rng = random.Random(13)
    visits = [
        {
            "householdId": _global("Household", rng.choice(households)),
            "cadreId": _global("Cadre", rng.choice(cadres)),
            "visitedOn": "2014-02-22",
        }
        for _ in range(1000)
    ]
    started = time.perf_counter()
    data = await bench.gql(BATCH, {"v": visits, "k": f"batch-{time.time_ns()}"})
    elapsed = time.perf_counter() - started
    assert data["recordVisits"]["recorded"] == 1000, data
    return {"seconds": elapsed}


async def _lu10(args: argparse.Namespace) -> dict[str, float]:
    url = DEFAULT_POSTGRES + "10"
    if not await _exists(url):
        url = await fresh_database(url)
        started = time.perf_counter()
        await generate.load(url, 10)
        print(f"loaded LU10 in {time.perf_counter() - started:.1f} s")
    inner = argparse.Namespace(**{**vars(args), "load": False, "lu10": False})
    found = await run(inner, url, only_q1=True)
    return dict(found["Q1 county→townships"]["api"])


async def _exists(url: str) -> bool:
    parsed = make_url(url)
    try:
        connection = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            user=parsed.username,
            database=parsed.database,
        )
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        return bool(await connection.fetchval("SELECT count(*) FROM visit"))
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()


def _table(results: dict[str, Any]) -> str:
    lines = [
        "| query | API p50 ms | API p99 ms | API req/s c16 | floor p50 ms | floor req/s c16 | throughput % of floor | p50 × floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, found in results.items():
        if isinstance(found, dict) and "api" in found:
            api, floor = found["api"], found["floor"]
            lines.append(
                f"| {name} | {api['p50_ms']:.2f} | {api['p99_ms']:.2f} | {api['rps_c16']:.0f} | "
                f"{floor['p50_ms']:.2f} | {floor['rps_c16']:.0f} | "
                f"{100 * found['throughput_ratio']:.0f}% | {found['p50_ratio']:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--load", action="store_true", help="generate LU1 (and LU10) first")
    parser.add_argument("--lu10", action="store_true", help="also time Q1 on LU10")
    parser.add_argument("--seconds", type=float, default=8.0, help="per c16 run")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    results["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
    )
    print(_table(results))
    for key, value in results.items():
        if not (isinstance(value, dict) and "api" in value):
            print(f"{key}: {value}")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
