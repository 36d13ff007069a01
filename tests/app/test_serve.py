"""The real server: `grassroots serve` on a socket, spoken to over HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from db.engine import write_transaction
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE
from db.seed.demo import COUNTY_CODE, seed_demo
from tests.conftest import token_for
from tests.helpers import TESTER, gql, grant

GRASSROOTS = str(Path(sys.executable).parent / "grassroots")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def server(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[str]:
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
        county = await area_queries.get_by_code(session=session, code=COUNTY_CODE, scope=EVERYWHERE)
    assert county is not None
    await grant(sessionmaker, TESTER, "county_leader", county.id)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"}
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            GRASSROOTS, "serve", "--port", str(port), env=env, stdout=sink, stderr=sink
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                if process.returncode is not None:
                    pytest.fail(f"server exited: {log.read_text()}")
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("server did not come up in 10 s")
        yield base
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)


async def test_demo_county_and_record_visit_over_a_real_socket(
    server: str, settings: Settings
) -> None:
    anonymous = httpx.AsyncClient(base_url=server)
    async with anonymous:
        refused = await anonymous.post("/graphql", json={"query": "{ me { username } }"})
        assert refused.status_code == 401 and "data" not in refused.json()
    headers = {"authorization": f"Bearer {token_for(settings, TESTER)}"}
    async with httpx.AsyncClient(base_url=server, headers=headers) as http:
        data = await gql(
            http,
            "query ($c: String!) { area(code: $c) { children { name children { name } } } }",
            {"c": COUNTY_CODE},
        )
        townships = data["area"]["children"]
        assert len(townships) == 3
        assert all(len(t["children"]) == 4 for t in townships)

        ids = await gql(
            http,
            """query ($c: String!) { area(code: $c) {
                 households(first: 1) { edges { node { id } } }
                 cadres(first: 1) { edges { node { id } } } } }""",
            {"c": COUNTY_CODE},
        )
        household = ids["area"]["households"]["edges"][0]["node"]["id"]
        cadre = ids["area"]["cadres"]["edges"][0]["node"]["id"]
        mutation = """mutation ($i: RecordVisitInput!) {
            recordVisit(input: $i) { replayed visit { id } errors { __typename } } }"""
        values = {
            "householdId": household,
            "cadreId": cadre,
            "visitedOn": "2014-02-01",
            "idempotencyKey": "serve-test-1",
        }
        first = (await gql(http, mutation, {"i": values}))["recordVisit"]
        again = (await gql(http, mutation, {"i": values}))["recordVisit"]
        assert first["errors"] == [] and first["replayed"] is False
        assert again["replayed"] is True and again["visit"] == first["visit"]

        graphiql = await http.get("/graphql", headers={"accept": "text/html"})
        assert graphiql.status_code == 200 and "graphiql" in graphiql.text.lower()


async def test_a_revoked_role_stops_working_in_a_running_server(
    server: str,
    settings: Settings,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Revoked by the CLI in another process; the running server obeys on its next request."""
    village_code = f"{COUNTY_CODE}101001"
    async with sessionmaker() as session:
        village = await area_queries.get_by_code(
            session=session, code=village_code, scope=EVERYWHERE
        )
    assert village is not None
    await grant(sessionmaker, "vc", "village_cadre", village.id)
    headers = {"authorization": f"Bearer {token_for(settings, 'vc')}"}
    query = {
        "query": "query ($c: String!) { area(code: $c) { name } }",
        "variables": {"c": village_code},
    }
    async with httpx.AsyncClient(base_url=server, headers=headers) as http:
        before = (await http.post("/graphql", json=query)).json()
        assert before["data"]["area"] is not None
        env = {**os.environ, "DATABASE_URL": database_url}
        revoke = await asyncio.create_subprocess_exec(
            GRASSROOTS, "roles", "revoke", "vc", "village_cadre", village_code, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await revoke.wait() == 0
        after = (await http.post("/graphql", json=query)).json()
        assert after == {"data": {"area": None}}
