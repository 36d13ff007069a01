"""What a benchmark run needs from its database and sends: the documents (Q1..Q5, the
writes), the bench user and its token, the codes and samples each target uses."""

from __future__ import annotations

import base64
import math
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from app.auth import AuthConfig, mint_token
from bench.floor import _pool as floor_pool
from db.paths import path_end

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


def global_id(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def pg_pool(url: str) -> asyncpg.Pool:
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


async def load_fixture(url: str) -> Fixture:
    pool = await pg_pool(url)
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


def same(a: Any, b: Any) -> bool:
    """Equal, but coverage percentages only to their rounding (float vs numeric)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), abs_tol=0.006)
    return bool(a == b)
