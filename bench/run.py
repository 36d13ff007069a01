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
import json
import math
import os
import platform
import random
import sys
import time
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench import generate, measure, wrk
from bench.common import DEFAULT_POSTGRES, fresh_database, migrated
from bench.fixture import (
    AS_OF,
    BATCH,
    NAMES,
    RECORD,
    RESULTS,
    Fixture,
    Target,
    global_id,
    load_fixture,
    pg_pool,
)
from bench.harness import Bench, Server, python_json, serve_supports_workers, wrk_run
from bench.report import report


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
    await wrk_run(graphql, script, c=16, seconds=1)  # warm-up: every worker, every connection
    # wrk runs for whole seconds: long enough for at least --c1-calls requests.
    pace = await wrk_run(graphql, script, c=1, seconds=1)
    c1_seconds = max(args.c1_seconds, min(120, math.ceil(1.2 * args.c1_calls / pace["rps"])))
    with measure.Span(pid=bench.server.pid) as s1:
        c1 = await wrk_run(graphql, script, c=1, seconds=c1_seconds)
    await bench.gql(target.body)  # still answering, and without errors
    before = await bench.answers()
    with measure.Span(pid=bench.server.pid) as s16:
        c16 = await wrk_run(graphql, script, c=16, seconds=args.seconds)
    after = await bench.answers()
    await bench.gql(target.body)
    kept = after.get("kept", 0) - before.get("kept", 0)
    computed = after.get("computed", 0) - before.get("computed", 0)
    floor = await python_json(
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
        [global_id("Household", h) for h in bench.fx.households],
        [global_id("Cadre", c) for c in bench.fx.cadres],
        bench.fx.token, prefix,
    )  # fmt: skip
    with measure.Span(pid=bench.server.pid) as span:
        found = await wrk_run(f"{bench.server.base}/graphql", script, c=16, seconds=seconds)
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
            "householdId": global_id("Household", rng.choice(bench.fx.households)),
            "cadreId": global_id("Cadre", rng.choice(bench.fx.cadres)),
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
    pool = await pg_pool(fixture.url)
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
    fixture = await load_fixture(url)
    lu10 = await load_fixture(lu10_url) if args.lu10 else None
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
