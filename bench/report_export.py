"""A whole county's households as a report: time and the server's peak memory.

Runs ``GET /reports/households.{csv,xlsx}?area=<county>`` against ``grassroots
serve`` (production settings, its own process per format) on the LU1 database
(``--load`` generates it first), streams the body to nowhere while counting its
rows, and reads the server's peak resident memory (VmHWM) before and after.

    .venv/bin/python -m bench.report_export [--load] [--formats csv xlsx]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import openpyxl

from app.auth import AuthConfig, mint_token
from app.demo import seed_saved_queries
from app.settings import Settings
from app.system import system_context
from bench import generate
from bench.common import DEFAULT_POSTGRES, fresh_database
from bench.fixture import RESULTS, SECRET, free_port, grant_bench_user, pg_pool


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


async def _prepare(url: str) -> str:
    """The bench user as county leader; the shipped saved queries; returns the county code."""
    pool = await pg_pool(url)
    try:
        county_id = await grant_bench_user(pool)
        code = await pool.fetchval("SELECT code FROM area WHERE id = $1", county_id)
        households = await pool.fetchval(
            "SELECT count(*) FROM household h JOIN area g ON g.id = h.group_id"
            " WHERE g.path LIKE (SELECT path FROM area WHERE id = $1) || '%'",
            county_id,
        )
    finally:
        await pool.close()
    async with system_context(Settings(database_url=url)) as context:
        pushed = await seed_saved_queries(context)
    assert not any(p.errors for p in pushed), pushed
    print(f"county {code}: {households} households", file=sys.stderr)
    return str(code)


async def _export(url: str, county: str, fmt: str) -> dict[str, Any]:
    token = mint_token(
        AuthConfig("HS256", SECRET, "grassroots", "grassroots", SECRET), "bench", minutes=60
    )
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "ENVIRONMENT": "production", "JWT_SECRET": SECRET}
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "grassroots"), "serve", "--port", str(port),
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as http:
            for _ in range(100):
                try:
                    await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            before = _peak_kib(server.pid)
            started = time.perf_counter()
            first_byte = 0.0
            size = 0
            with tempfile.TemporaryFile() as sink:
                path = f"/reports/households.{fmt}"
                async with http.stream("GET", path, params={"area": county}) as response:
                    response.raise_for_status()
                    async for chunk in response.aiter_bytes():
                        first_byte = first_byte or time.perf_counter() - started
                        size += len(chunk)
                        sink.write(chunk)
                elapsed = time.perf_counter() - started
                peak = _peak_kib(server.pid)
                sink.seek(0)
                rows = _count_rows(sink.read(), fmt)
    finally:
        server.terminate()
        await server.wait()
    return {
        "format": fmt,
        "rows": rows,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "first_byte_seconds": round(first_byte, 2),
        "rows_per_second": round(rows / elapsed),
        "server_peak_mib_before": round(before / 1024, 1),
        "server_peak_mib_after": round(peak / 1024, 1),
    }


def _count_rows(content: bytes, fmt: str) -> int:
    """Data rows, header excluded (checks the body is a whole, readable table)."""
    if fmt == "csv":
        return sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig")))) - 1
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert book.active is not None
    return sum(1 for _ in book.active.iter_rows(values_only=True)) - 1


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default=DEFAULT_POSTGRES)
    parser.add_argument("--load", action="store_true", help="generate LU1 first")
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    args = parser.parse_args()
    url = args.database
    if args.load:
        url = await fresh_database(url)
        await generate.load(url, 1)
    county = await _prepare(url)
    results = [await _export(url, county, fmt) for fmt in args.formats]
    print(json.dumps(results, indent=2))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"report-export-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
