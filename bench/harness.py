"""The server under test (``grassroots serve`` in its own process group) and the bench
around it: the background writer, the checks against the floor and a recount."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import measure, wrk
from bench.fixture import (
    AS_OF,
    GRASSROOTS,
    RECORD,
    ROLLUP,
    SECRET,
    Fixture,
    Target,
    free_port,
    global_id,
    same,
)
from db.paths import path_end


def serve_supports_workers() -> bool:
    found = subprocess.run(  # noqa: S603 - our own console script
        [GRASSROOTS, "serve", "--help"], capture_output=True, text=True, check=False
    )
    return "--workers" in found.stdout


class Server:
    """``grassroots serve`` in its own process group of processes (one per worker)."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.url, self.workers, self.log_path = url, workers, log
        self.port = free_port()
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
                "householdId": global_id("Household", rng.choice(self.fx.households)),
                "cadreId": global_id("Cadre", rng.choice(self.fx.cadres)),
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
        return await python_json(
            "-m", "bench.floor", self.fx.url, target.floor, "--code", target.code,
            "--as-of", AS_OF, "--answer",
        )  # fmt: skip

    async def check_floor(self, target: Target) -> None:
        """The API answers exactly what the floor statement answers."""
        api = await self.gql(target.body)
        floor = await self.floor_answer(target)
        if not same(api, floor):
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


async def python_json(*args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed: {err.decode()[-2000:]}")
    found: dict[str, Any] = json.loads(out)
    return found


async def wrk_run(url: str, script: str, *, c: int, seconds: float) -> dict[str, Any]:
    threads = 1 if c == 1 else 2
    return await asyncio.to_thread(
        wrk.run, url, script, threads=threads, connections=c, seconds=seconds
    )
