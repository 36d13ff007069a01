"""The rollup benchmark: GraphQL over HTTP against the raw-SQL floor, honestly measured.

    .venv/bin/python -m bench.run [--load] [--lu10] [--workers 1,2] [--seconds 8] [--quick]

Against PostgreSQL (``grassroots_bench``; ``--load`` generates LU1 there first,
``--lu10`` also times Q1 on LU10 in ``grassroots_bench10``, generated on first
use). For each worker count, starts ``grassroots serve --workers N``
(production settings), then for Q1..Q5:

* the API through wrk (a C load generator, ``apt-get install wrk``): p50/p99 at
  concurrency 1 (``-t1 -c1``), requests/s at concurrency 16 (``-t2 -c16``);
  every response checked (status 200, ``data``, no errors) and the run fails on
  any bad one; wrk's own CPU share and the server's (all its processes);
* the floor, ``python -m bench.floor`` in its own process: the best single SQL
  statement for the same answer from asyncpg on uvloop with 16 connections,
  with that client's CPU share;
* a background client recording ~20 visits/s throughout both;
* after every run, with the writer paused: the API's answer equals the floor
  statement's, and Q1/Q2/Q3 equal a recount from the base rows.

Then ``recordVisit`` at concurrency 16 (wrk, unique idempotency keys, checked
against the rows written) and one ``recordVisits`` batch of 1,000. Prints
markdown tables with the load average at start and end and the servers' peak
memory (VmHWM of every process); writes JSON to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench import generate, measure, wrk
from bench.common import DEFAULT_POSTGRES, fresh_database, migrated
from bench.floor import _pool as floor_pool
from db.paths import path_end
from resolvers.auth import AuthConfig, mint_token

SECRET = "bench-secret-bench-secret-bench-secret!"  # noqa: S105 - a local benchmark's own
RESULTS = Path(__file__).parent / "results"
GRASSROOTS = str(Path(sys.executable).parent / "grassroots")
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
NAMES = {
    "Q1": "Q1 county→townships",
    "Q2": "Q2 township→villages",
    "Q3": "Q3 village→groups",
    "Q4": "Q4 overdue per township",
    "Q5": "Q5 stability per township",
}


def _global(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _pg(url: str) -> asyncpg.Pool:
    return await floor_pool(url, 4)


@dataclass
class Target:
    key: str  # Q1..Q5
    document: str
    variables: dict[str, Any]
    floor: str  # bench.floor statement
    code: str

    @property
    def body(self) -> dict[str, Any]:
        return {"query": self.document, "variables": self.variables}


@dataclass
class Fixture:
    """What a run needs from its database: codes, writers' samples, the token."""

    url: str
    county: str
    township: str
    village: str
    households: list[int]
    cadres: list[int]
    token: str
    targets: dict[str, Target] = field(default_factory=dict)


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


async def _fixture(url: str) -> Fixture:
    pool = await _pg(url)
    try:
        county_id = await grant_bench_user(pool)
        county = await pool.fetchval("SELECT code FROM area WHERE id = $1", county_id)
        township = await pool.fetchval(
            "SELECT code FROM area WHERE parent_id = $1 ORDER BY path LIMIT 1", county_id
        )
        village = await pool.fetchval(
            "SELECT code FROM area WHERE parent_id = (SELECT id FROM area WHERE code = $1)"
            " ORDER BY path LIMIT 1",
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
    finally:
        await pool.close()
    token = mint_token(
        AuthConfig("HS256", SECRET, "grassroots", "grassroots", SECRET), "bench", minutes=240
    )
    fixture = Fixture(url, county, township, village, households, cadres, token)
    for target in (
        Target("Q1", ROLLUP, {"code": county}, "rollup", county),
        Target("Q2", ROLLUP, {"code": township}, "rollup", township),
        Target("Q3", ROLLUP, {"code": village}, "rollup", village),
        Target("Q4", OVERDUE, {"code": county, "asOf": AS_OF}, "overdue", county),
        Target("Q5", STABILITY, {"code": county}, "stability", county),
    ):
        fixture.targets[target.key] = target
    return fixture


def serve_supports_workers() -> bool:
    found = subprocess.run(  # noqa: S603 - our own console script
        [GRASSROOTS, "serve", "--help"], capture_output=True, text=True, check=False
    )
    return "--workers" in found.stdout


def _same(a: Any, b: Any) -> bool:
    """Equal, but coverage percentages only to their rounding (float vs numeric)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), abs_tol=0.006)
    return bool(a == b)


class Server:
    """``grassroots serve`` in its own process group of processes (one per worker)."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.url, self.workers, self.log_path = url, workers, log
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, http: httpx.AsyncClient) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "ENVIRONMENT": "production",
            "JWT_SECRET": SECRET,
            "DB_POOL_SIZE": "16",
        }
        command = [GRASSROOTS, "serve", "--port", str(self.port)]
        if self.workers != 1 or serve_supports_workers():
            command += ["--workers", str(self.workers)]
        self.log = open(self.log_path, "w")  # noqa: SIM115, ASYNC230 - lives as the server
        self.process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=self.log, stderr=self.log
        )
        for _ in range(300):
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"server exited ({self.process.returncode}), see {self.log_path}"
                )
            try:
                if (await http.get(f"{self.base}/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        else:
            raise RuntimeError(f"server not healthy after 30 s, see {self.log_path}")
        # Every worker up (each answers /healthz once its app has started).
        for _ in range(100):
            if len(measure.tree(self.pid)) > self.workers or self.workers == 1:
                break
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self.log.close()


class Bench:
    def __init__(self, fixture: Fixture, server: Server, http: httpx.AsyncClient) -> None:
        self.fx, self.server, self.http = fixture, server, http
        self.headers = {"authorization": f"Bearer {fixture.token}"}
        self.stop = asyncio.Event()
        self.sent = 0
        self.writer: asyncio.Task[None] | None = None

    async def answers(self) -> dict[str, float]:
        """The compiled path's answers so far, by outcome (kept, changed, computed), as the
        process that answers this request counts them (all of them with one worker)."""
        text = (await self.http.get(f"{self.server.base}/metrics")).text
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("grassroots_rollup_answers_total{"):
                labels, value = line.rsplit(" ", 1)
                found[labels.split('"')[1]] = float(value)
        return found

    async def gql(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.server.base}/graphql", json=body, headers=self.headers
        )
        try:
            parsed: dict[str, Any] = response.json()
        except ValueError:
            parsed = {"body": response.text[:400]}
        if response.status_code != 200 or parsed.get("errors") or "data" not in parsed:
            raise RuntimeError(f"{response.status_code}: {parsed}")
        data: dict[str, Any] = parsed["data"]
        return data

    # -- the background writer -----------------------------------------------------

    def start_writer(self) -> None:
        assert self.writer is None
        self.stop.clear()
        self.writer = asyncio.create_task(self._write())

    async def pause_writer(self) -> None:
        if self.writer is not None:
            self.stop.set()
            await self.writer  # raises what the writer hit
            self.writer = None

    async def _write(self) -> None:
        """Visits at ~20/s while reads run (the counters must stay exact)."""
        rng = random.Random(time.time_ns())
        next_at = time.perf_counter()
        while not self.stop.is_set():
            values = {
                "householdId": _global("Household", rng.choice(self.fx.households)),
                "cadreId": _global("Cadre", rng.choice(self.fx.cadres)),
                "visitedOn": "2014-02-20",
                "idempotencyKey": f"bg-{time.time_ns()}-{rng.random()}",
            }
            data = await self.gql({"query": RECORD, "variables": {"i": values}})
            if data["recordVisit"]["errors"]:
                raise RuntimeError(f"background recordVisit: {data}")
            self.sent += 1
            next_at += 0.05
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    # -- exactness -----------------------------------------------------------------

    async def floor_answer(self, target: Target) -> dict[str, Any]:
        return await _python(
            "-m", "bench.floor", self.fx.url, target.floor, "--code", target.code,
            "--as-of", AS_OF, "--answer",
        )  # fmt: skip

    async def check_floor(self, target: Target) -> None:
        """The API answers exactly what the floor statement answers."""
        api = await self.gql(target.body)
        floor = await self.floor_answer(target)
        if not _same(api, floor):
            raise AssertionError(f"{target.key}: API {api} != floor statement {floor}")

    async def check_recounts(self, pool: asyncpg.Pool) -> None:
        """Q1/Q2/Q3 (the area and each child) against a recount from the base rows."""
        for code in (self.fx.county, self.fx.township, self.fx.village):
            data = (await self.gql({"query": ROLLUP, "variables": {"code": code}}))["area"]
            path = await pool.fetchval("SELECT path FROM area WHERE code = $1", code)
            found = await _recount(pool, path)
            children = await pool.fetch(
                "SELECT path FROM area WHERE parent_id = (SELECT id FROM area WHERE code = $1)"
                " ORDER BY path",
                code,
            )
            areas = [(path, data)] + [
                (row["path"], child) for row, child in zip(children, data["children"], strict=True)
            ]
            for area_path, got in areas:
                rollup = got["rollup"]
                shown = (
                    rollup["households"],
                    rollup["personVisits"],
                    rollup["visitedHouseholds"],
                    {s["status"]: s["count"] for s in rollup["itemsByStatus"]},
                )
                want = found.get(area_path, (0, 0, 0, {}))
                if shown != want:
                    raise AssertionError(f"{code} {got['name']}: API {shown} != recount {want}")


async def _recount(
    pool: asyncpg.Pool, path: str
) -> dict[str, tuple[int, int, int, dict[str, int]]]:
    """(households, visits, visited households, items by status) of ``path`` and of each
    child, counted from the base rows."""
    child = len(path) + 9  # fixed-width path segments
    args = (path, path_end(path), child)
    households = await pool.fetch(
        "SELECT substr(g.path, 1, $3) AS p, count(*) AS n FROM household h"
        " JOIN area g ON g.id = h.group_id WHERE g.path >= $1 AND g.path < $2 GROUP BY 1",
        *args,
    )
    visits = await pool.fetch(
        "SELECT substr(g.path, 1, $3) AS p, count(*) AS n, count(DISTINCT v.household_id) AS d"
        " FROM visit v JOIN household h ON h.id = v.household_id"
        " JOIN area g ON g.id = h.group_id WHERE g.path >= $1 AND g.path < $2 GROUP BY 1",
        *args,
    )
    items = await pool.fetch(
        "SELECT substr(area_path, 1, $3) AS p, status, count(*) AS n FROM ledger_item"
        " WHERE area_path >= $1 AND area_path < $2 GROUP BY 1, 2",
        *args,
    )
    totals: dict[str, list[Any]] = {}

    def at(p: str) -> list[Any]:
        return totals.setdefault(p, [0, 0, 0, {}])

    for p in {path} | {r["p"] for r in [*households, *visits, *items]}:
        at(p)
    for r in households:
        for p in {path, r["p"]}:
            at(p)[0] += r["n"]
    for r in visits:
        for p in {path, r["p"]}:
            at(p)[1] += r["n"]
            at(p)[2] += r["d"]  # a household lies in one child: distinct counts add up
    for r in items:
        for p in {path, r["p"]}:
            by_status = at(p)[3]
            by_status[r["status"]] = by_status.get(r["status"], 0) + r["n"]
    return {p: (h, v, d, s) for p, (h, v, d, s) in totals.items()}


async def _python(*args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {err.decode()[-2000:]}")
    found: dict[str, Any] = json.loads(out)
    return found


async def _wrk(url: str, script: str, *, c: int, seconds: float) -> dict[str, Any]:
    threads = 1 if c == 1 else 2
    return await asyncio.to_thread(
        wrk.run, url, script, threads=threads, connections=c, seconds=seconds
    )


async def _query(
    bench: Bench, pool: asyncpg.Pool, target: Target, args: argparse.Namespace
) -> dict[str, Any]:
    """API then floor for one query, writer running; checks before and after."""
    load_start = measure.loadavg()
    await bench.check_floor(target)
    graphql = f"{bench.server.base}/graphql"
    script = wrk.reads_script(target.body, bench.fx.token)
    sent = bench.sent
    bench.start_writer()
    await _wrk(graphql, script, c=16, seconds=1)  # warm-up: every worker, every connection
    # wrk runs for whole seconds: long enough for at least --c1-calls requests.
    pace = await _wrk(graphql, script, c=1, seconds=1)
    c1_seconds = max(args.c1_seconds, min(120, math.ceil(1.2 * args.c1_calls / pace["rps"])))
    with measure.Span(pid=bench.server.pid) as s1:
        c1 = await _wrk(graphql, script, c=1, seconds=c1_seconds)
    await bench.gql(target.body)  # still answering, and without errors
    before = await bench.answers()
    with measure.Span(pid=bench.server.pid) as s16:
        c16 = await _wrk(graphql, script, c=16, seconds=args.seconds)
    after = await bench.answers()
    await bench.gql(target.body)
    kept = after.get("kept", 0) - before.get("kept", 0)
    computed = after.get("computed", 0) - before.get("computed", 0)
    floor = await _python(
        "-m", "bench.floor", bench.fx.url, target.floor, "--code", target.code,
        "--as-of", AS_OF, "--calls", str(args.c1_calls), "--c1-seconds", str(args.c1_seconds),
        "--seconds", str(args.seconds),
    )  # fmt: skip
    await bench.pause_writer()
    await bench.check_floor(target)
    await bench.check_recounts(pool)
    return {
        "api": {
            "p50_ms": c1["p50_ms"],
            "p99_ms": c1["p99_ms"],
            "c1_requests": c1["requests"],
            "rps_c16": c16["rps"],
            "c16_p50_ms": c16["p50_ms"],
            "c16_p99_ms": c16["p99_ms"],
            "wrk_cpu_c1": c1["cpu"],
            "wrk_cpu_c16": c16["cpu"],
            "server_cpu_c1": s1.share,
            "server_cpu_c16": s16.share,
            "box_busy_c16": s16.box,
            # of the compiled path's answers during the c16 run, the share from the cache
            # (counted per process: known for one worker only)
            "kept_c16": (
                kept / (kept + computed) if kept + computed and bench.server.workers == 1 else None
            ),
        },
        "floor": floor,
        "throughput_ratio": c16["rps"] / floor["rps_c16"],
        "p50_ratio": c1["p50_ms"] / floor["p50_ms"],
        "background_visits": bench.sent - sent,
        "load": [load_start, measure.loadavg()],
    }


async def _writes(bench: Bench, pool: asyncpg.Pool, seconds: float) -> dict[str, Any]:
    """recordVisit at concurrency 16 through wrk; every key written exactly once."""
    prefix = f"wrk-{time.time_ns()}"
    values = {"visitedOn": "2014-02-21"}
    script = wrk.writes_script(
        RECORD, values,
        [_global("Household", h) for h in bench.fx.households],
        [_global("Cadre", c) for c in bench.fx.cadres],
        bench.fx.token, prefix,
    )  # fmt: skip
    with measure.Span(pid=bench.server.pid) as span:
        found = await _wrk(f"{bench.server.base}/graphql", script, c=16, seconds=seconds)
    await asyncio.sleep(1)  # requests still in flight when wrk stopped
    written = await pool.fetchval(
        "SELECT count(*) FROM idempotency_key k JOIN visit v ON v.id = k.result_id"
        " WHERE k.key LIKE $1",
        prefix + "-%",
    )
    keys = await pool.fetchval(
        "SELECT count(*) FROM idempotency_key WHERE key LIKE $1", prefix + "-%"
    )
    if not found["requests"] <= written == keys <= found["requests"] + 16:
        raise AssertionError(
            f"recordVisit: {found['requests']} answered, {keys} keys, {written} visits"
        )
    return {
        "rps_c16": found["rps"],
        "p50_ms_c16": found["p50_ms"],
        "p99_ms_c16": found["p99_ms"],
        "recorded": written,
        "wrk_cpu": found["cpu"],
        "server_cpu": span.share,
        "box_busy": span.box,
    }


async def _batch(bench: Bench) -> dict[str, float]:
    rng = random.Random(13)
    visits = [
        {
            "householdId": _global("Household", rng.choice(bench.fx.households)),
            "cadreId": _global("Cadre", rng.choice(bench.fx.cadres)),
            "visitedOn": "2014-02-22",
        }
        for _ in range(1000)
    ]
    started = time.perf_counter()
    data = await bench.gql(
        {"query": BATCH, "variables": {"v": visits, "k": f"batch-{time.time_ns()}"}}
    )
    elapsed = time.perf_counter() - started
    assert data["recordVisits"]["recorded"] == 1000, data
    return {"seconds": elapsed}


async def run_config(
    fixture: Fixture, workers: int, args: argparse.Namespace, *, only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """One server with ``workers`` processes: the read queries, then (unless ``only``) writes."""
    results: dict[str, Any] = {"workers": workers, "load_start": measure.loadavg()}
    server = Server(
        fixture.url, workers, RESULTS / f"server-{make_url(fixture.url).database}-w{workers}.log"
    )
    pool = await _pg(fixture.url)
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    bench: Bench | None = None
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        try:
            await server.start(http)
            bench = Bench(fixture, server, http)
            await bench.check_recounts(pool)
            queries: dict[str, Any] = {}
            for key, target in fixture.targets.items():
                if only is not None and key not in only:
                    continue
                queries[key] = await _query(bench, pool, target, args)
                _progress(workers, key, queries[key])
            results["queries"] = queries
            if only is None:
                results["recordVisit c16"] = await _writes(bench, pool, args.seconds)
                results["recordVisits batch of 1000"] = await _batch(bench)
                await bench.check_floor(fixture.targets["Q1"])
                await bench.check_recounts(pool)
            peaks = measure.peak_memory(server.pid)
            results["server_vmhwm"] = peaks
            results["server_vmhwm_total_mib"] = sum(p["vmhwm_kib"] for p in peaks) / 1024
        finally:
            if bench is not None:
                try:
                    await bench.pause_writer()
                except Exception as error:  # reported; the server still stops
                    print(f"background writer: {error}", file=sys.stderr)
            await server.stop()
            await pool.close()
    results["load_end"] = measure.loadavg()
    return results


def _progress(workers: int, key: str, found: dict[str, Any]) -> None:
    api, floor = found["api"], found["floor"]
    print(
        f"w{workers} {NAMES[key]}: API p50 {api['p50_ms']:.2f} ms p99 {api['p99_ms']:.2f} ms,"
        f" {api['rps_c16']:.0f} req/s | floor p50 {floor['p50_ms']:.2f} ms,"
        f" {floor['rps_c16']:.0f} req/s | wrk CPU {api['wrk_cpu_c16']:.2f},"
        f" server CPU {api['server_cpu_c16']:.2f}, load {found['load'][1][0]}",
        file=sys.stderr,
        flush=True,
    )


async def _exists(url: str) -> bool:
    parsed = make_url(url)
    try:
        connection = await asyncpg.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username,
            password=parsed.password, database=parsed.database,
        )  # fmt: skip
    except (OSError, asyncpg.PostgresError):
        return False
    try:
        return bool(await connection.fetchval("SELECT count(*) FROM visit"))
    except asyncpg.PostgresError:
        return False
    finally:
        await connection.close()


async def _load(url: str, scale: int) -> None:
    url = await fresh_database(url)
    started = time.perf_counter()
    await generate.load(url, scale)
    print(f"loaded LU{scale} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_start": measure.loadavg(),
        "seconds": args.seconds,
        "c1_seconds": args.c1_seconds,
        "c1_calls": args.c1_calls,
    }
    url = args.database
    if args.load or not await _exists(url):
        await _load(url, 1)
    lu10_url = url + "10"
    if args.lu10 and not await _exists(lu10_url):
        await _load(lu10_url, 10)
    for each in (url, lu10_url) if args.lu10 else (url,):
        await migrated(each)
    fixture = await _fixture(url)
    lu10 = await _fixture(lu10_url) if args.lu10 else None
    supported = serve_supports_workers()
    runs: dict[str, Any] = {}
    for workers in args.workers:
        name = f"workers={workers}"
        if workers != 1 and not supported:
            runs[name] = {"skipped": "grassroots serve has no --workers option (yet)"}
            print(f"{name}: skipped, grassroots serve has no --workers", file=sys.stderr)
            continue
        runs[name] = await run_config(fixture, workers, args)
        if lu10 is not None:
            at = await run_config(lu10, workers, args, only=("Q1",))
            q1, base = at["queries"]["Q1"]["api"], runs[name]["queries"]["Q1"]["api"]
            runs[name]["Q1 at LU10"] = {
                "api": q1,
                "floor": at["queries"]["Q1"]["floor"],
                "p50_ratio_lu10_lu1": q1["p50_ms"] / base["p50_ms"],
                "rps_ratio_lu10_lu1": q1["rps_c16"] / base["rps_c16"],
                "server_vmhwm_total_mib": at["server_vmhwm_total_mib"],
            }
    results["runs"] = runs
    results["load_end"] = measure.loadavg()
    return results


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def report(results: dict[str, Any]) -> str:
    out = [
        f"# bench.run, {results['started']}: {results['machine']};"
        f" c16 runs {results['seconds']:g} s, c1 runs {results['c1_seconds']:g} s and"
        f" {results['c1_calls']} requests at least",
        "",
        f"load average at start {results['load_start']}, at end {results['load_end']}"
        " (1, 5, 15 min)",
    ]
    for name, found in results["runs"].items():
        out += ["", f"## {name}", ""]
        if "skipped" in found:
            out.append(f"skipped: {found['skipped']}")
            continue
        out += [
            f"load average at start {found['load_start']}, at end {found['load_end']}",
            "",
            "| query | API c1 p50 ms | API c1 p99 ms | API c16 req/s | floor c1 p50 ms"
            " | floor c16 req/s | throughput % of floor | p50 × floor |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, q in found["queries"].items():
            api, floor = q["api"], q["floor"]
            out.append(
                f"| {NAMES[key]} | {api['p50_ms']:.2f} | {api['p99_ms']:.2f} |"
                f" {api['rps_c16']:.0f} | {floor['p50_ms']:.2f} | {floor['rps_c16']:.0f} |"
                f" {100 * q['throughput_ratio']:.0f}% | {q['p50_ratio']:.1f} |"
            )
        out += [
            "",
            "CPU during the c16 runs (1.00 = one core; the box has "
            f"{os.cpu_count()}): the load generator (wrk), the server (all its processes),"
            " the floor's client, and the whole box",
            "",
            "| query | wrk c16 | wrk c1 | server c16 | floor client c16 | box busy, API c16"
            " | box busy, floor c16 | c1 requests, API / floor | background visits"
            " | kept answers, c16 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key, q in found["queries"].items():
            api, floor = q["api"], q["floor"]
            kept = api.get("kept_c16")
            share = "–" if kept is None else f"{100 * kept:.0f}%"
            out.append(
                f"| {key} | {api['wrk_cpu_c16']:.2f} | {api['wrk_cpu_c1']:.2f} |"
                f" {api['server_cpu_c16']:.2f} | {floor['cpu_c16']:.2f} |"
                f" {api['box_busy_c16']:.2f} | {floor['box_busy_c16']:.2f} |"
                f" {api['c1_requests']} / {floor['c1_calls']} | {q['background_visits']} |"
                f" {share} |"
            )
        out += [
            "",
            "kept answers: of the compiled path's answers during the c16 run, the share"
            " served from the exact response cache (the area's version unchanged; the"
            " background writer moves the county's visits version on every visit; counted"
            " per process, so shown for one worker only).",
        ]
        out.append("")
        if "recordVisit c16" in found:
            w = found["recordVisit c16"]
            out.append(
                f"recordVisit c16: {w['rps_c16']:.0f} req/s (p50 {w['p50_ms_c16']:.1f} ms,"
                f" p99 {w['p99_ms_c16']:.1f} ms; {w['recorded']} visits, each key once;"
                f" wrk CPU {w['wrk_cpu']:.2f}, server CPU {w['server_cpu']:.2f},"
                f" box busy {w['box_busy']:.2f})"
            )
            b = found["recordVisits batch of 1000"]
            out.append(f"recordVisits, one batch of 1,000: {b['seconds']:.2f} s")
        if "Q1 at LU10" in found:
            lu = found["Q1 at LU10"]
            out.append(
                f"Q1 at LU10: c1 p50 {lu['api']['p50_ms']:.2f} ms (× {lu['p50_ratio_lu10_lu1']:.2f}"
                f" of LU1), p99 {lu['api']['p99_ms']:.2f} ms, c16 {lu['api']['rps_c16']:.0f} req/s"
                f" (× {lu['rps_ratio_lu10_lu1']:.2f} of LU1); floor p50"
                f" {lu['floor']['p50_ms']:.2f} ms, {lu['floor']['rps_c16']:.0f} req/s; server"
                f" peak {lu['server_vmhwm_total_mib']:.0f} MiB in all"
            )
        peaks = ", ".join(
            f"{_role(p['command'])} {p['vmhwm_kib'] / 1024:.0f}" for p in found["server_vmhwm"]
        )
        out.append(
            f"server peak memory (VmHWM): {found['server_vmhwm_total_mib']:.0f} MiB in all"
            f" ({peaks} MiB)"
        )
    return "\n".join(out)


def _role(command: str) -> str:
    if "spawn_main" in command:
        return "worker"
    if "resource_tracker" in command:
        return "resource tracker"
    return "main" if "serve" in command else command[:40]


def _workers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--load", action="store_true", help="generate LU1 first")
    parser.add_argument("--lu10", action="store_true", help="also time Q1 on LU10")
    parser.add_argument("--database", default=DEFAULT_POSTGRES, help="the LU1 database")
    parser.add_argument(
        "--workers", type=_workers, default=[1, 2], help="server processes, e.g. 1,2 (default)"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per c16 run")
    parser.add_argument("--c1-seconds", type=float, default=None, help="per c1 run (seconds/2)")
    parser.add_argument(
        "--c1-calls", type=int, default=200, help="c1 requests at least, per run (200)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 s c16, 1 s and 50 calls c1"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.c1_calls = 2.0, 50
    if args.c1_seconds is None:
        args.c1_seconds = 1.0 if args.quick else max(1.0, args.seconds / 2)
    wrk.binary()  # fail now, with the install hint, rather than after loading data
    RESULTS.mkdir(exist_ok=True)
    results = asyncio.run(run(args))
    text = report(results)
    print(text)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    (RESULTS / f"{stamp}.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
