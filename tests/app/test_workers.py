"""`grassroots serve --workers 2`: two processes on one socket, both obeying policy changes.

Each request goes on a fresh TCP connection, so the kernel hands it to either
worker; the JSON request log names the process (``pid``) that answered each
request id. After a role is revoked or granted — through the API (answered by
one of the workers) or by the CLI (a third process) — every request that
follows is decided by the change, and requests are sent until both workers
have been seen answering.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from tests.conftest import token_for
from tests.helpers import Tree, global_id, grant, make_tree

GRASSROOTS = str(Path(sys.executable).parent / "grassroots")
WORKERS = 2
BATCH = 12  # concurrent requests, each on its own connection
BATCHES = 60  # at most, to see every worker answer (the kernel may favour one for a while)
VILLAGE = "519902101001"  # make_tree's village
AREA = {"query": "query ($c: String!) { area(code: $c) { name } }", "variables": {"c": VILLAGE}}
CHANGE = """mutation ($u: String!, $r: String!, $a: ID!) {
  %s(username: $u, role: $r, area: $a) { changed errors { __typename } } }"""

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass
class Served:
    base: str
    log: Path
    tree: Tree
    env: dict[str, str]

    def pids(self, request_ids: set[str]) -> dict[str, int]:
        """Which process answered each request, from the JSON request log."""
        found: dict[str, int] = {}
        for line in self.log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("message") == "request" and entry.get("request_id") in request_ids:
                found[entry["request_id"]] = entry["pid"]
        return found


@pytest.fixture
async def served(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> AsyncIterator[Served]:
    tree = await make_tree(sessionmaker)
    await grant(sessionmaker, "boss", "admin", tree.county_id)
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "development"}
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            GRASSROOTS, "serve", "--port", str(port), "--workers", str(WORKERS),
            env=env, stdout=sink, stderr=sink, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if process.returncode is not None:
                    pytest.fail(f"server exited: {log.read_text()}")
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"server did not come up in 60 s: {log.read_text()}")
        yield Served(base, log, tree, env)
    finally:
        process.terminate()  # the supervisor stops its workers
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: workers included
            await process.wait()
            pytest.fail(f"the server did not stop in 30 s: {log.read_text()[-3000:]}")


async def _batch(served: Served, token: str, body: dict[str, Any]) -> list[tuple[int, Any]]:
    """BATCH concurrent requests, each on a new connection: (pid, data) of each."""
    ids = {uuid.uuid4().hex for _ in range(BATCH)}

    async def one(request_id: str) -> tuple[str, Any]:
        headers = {"authorization": f"Bearer {token}", "x-request-id": request_id}
        async with httpx.AsyncClient(base_url=served.base, headers=headers, timeout=30) as http:
            response = await http.post("/graphql", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert "errors" not in answer, answer
        return request_id, answer["data"]

    answers = await asyncio.gather(*(one(request_id) for request_id in ids))
    deadline = time.monotonic() + 10
    while len(pids := served.pids(ids)) < len(ids):  # logged as each request ends
        assert time.monotonic() < deadline, "requests missing from the log"
        await asyncio.sleep(0.05)
    return [(pids[request_id], data) for request_id, data in answers]


async def _every_worker_answers(served: Served, token: str, expected: Any) -> None:
    """Every request answers ``expected``; sent until each worker has answered some."""
    seen: set[int] = set()
    for _ in range(BATCHES):
        for pid, data in await _batch(served, token, AREA):
            assert data == expected, f"process {pid} answered {data}, not {expected}"
            seen.add(pid)
        if len(seen) == WORKERS:
            return
        await asyncio.sleep(0.05)  # let the other worker's accept loop come round
    pytest.fail(f"only processes {seen} answered in {BATCHES * BATCH} requests")


async def _change(served: Served, admin_token: str, verb: str) -> None:
    variables = {"u": "vc", "r": "village_cadre", "a": global_id("Area", served.tree.village_id)}
    headers = {"authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=served.base, headers=headers, timeout=30) as http:
        response = await http.post(
            "/graphql", json={"query": CHANGE % verb, "variables": variables}
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"][verb] == {"changed": True, "errors": []}


async def test_every_worker_obeys_a_revocation_and_a_grant_on_its_next_request(
    served: Served, settings: Settings
) -> None:
    vc, boss = token_for(settings, "vc"), token_for(settings, "boss")
    village = {"area": {"name": "测试村"}}
    hidden = {"area": None}

    # Both workers have the village cadre's principal cached at the current version.
    await _every_worker_answers(served, vc, village)

    await _change(served, boss, "revokeRole")  # answered by one of the workers
    await _every_worker_answers(served, vc, hidden)

    await _change(served, boss, "grantRole")
    await _every_worker_answers(served, vc, village)

    # A third process: the CLI revokes; it returns once every worker holds the change.
    revoke = await asyncio.create_subprocess_exec(
        GRASSROOTS, "roles", "revoke", "vc", "village_cadre", VILLAGE, env=served.env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await revoke.wait() == 0
    await _every_worker_answers(served, vc, hidden)
