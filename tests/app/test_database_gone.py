"""The database going away mid-run: 503, Retry-After, SERVICE_UNAVAILABLE, no driver text.

The app is started on a scratch database of its own, answers every kind of
request once (so its pools hold connections and the compiled path holds a
verified plan), then the database is really taken away:

- PostgreSQL: ``DROP DATABASE … WITH (FORCE)`` (every connection of the app is
  terminated; new ones find no database);
- SQLite: the file (with its -wal and -shm) is moved away and a directory put
  at its path, so no connection can open it (and SQLite cannot create an empty
  database in its place); the engine's pool is disposed, as a recycle would —
  a connection SQLite already holds keeps the moved file open and would go on
  answering from it, so without that the database is not gone for the app.

Every request path into the database (``REQUESTS``) must then answer 503 with
``Retry-After`` and the code ``SERVICE_UNAVAILABLE`` (``/readyz``: its own body),
and nothing of the driver's text (its name, the database's name, SQL). Then the
database comes back (PostgreSQL: created and migrated again, the same rows
loaded; SQLite: the file moved back) and every request answers again, without
restarting the app.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from app.demo import seed_saved_queries
from app.main import create_app
from app.settings import Environment, Settings
from app.system import system_context
from db import migrate
from db.engine import create_engine, create_sessionmaker
from tests.conftest import postgres_url, token_for, truncate_all
from tests.helpers import TESTER, global_id, make_tree

AREA = '{ area(code: "519902") { name children { name code } } }'
ROLLUP = """{ area(code: "519902") {
  id name rollup { households personVisits } children { name rollup { households } }
} }"""
VISIT = """
mutation Visit($input: RecordVisitInput!) {
  recordVisit(input: $input) { visit { id } errors { ... on UserError { code } } }
}"""
DRIVER_TEXT = (
    "asyncpg",
    "sqlalchemy",
    "sqlite",
    "aiosqlite",
    "does not exist",
    "Traceback",
    "SELECT",
    "no such table",
    "unable to open",
    "gr_helper_c",
    "test.db",
)


@dataclasses.dataclass
class Scene:
    kind: str
    url: str
    settings: Settings
    app: Starlette
    http: httpx.AsyncClient
    take_away: Callable[[], Awaitable[None]]
    bring_back: Callable[[], Awaitable[None]]
    saved_id: str = ""
    keys: int = 0

    def visit(self) -> dict[str, object]:
        self.keys += 1
        return {
            "householdId": global_id("Household", 1),
            "cadreId": global_id("Cadre", 1),
            "visitedOn": "2014-01-10",
            "idempotencyKey": f"gone-key-{self.kind}-{self.keys:04d}",
        }


Request = Callable[[Scene], Awaitable[httpx.Response]]
REQUESTS: dict[str, Request] = {
    "POST query": lambda s: s.http.post("/graphql", json={"query": AREA}),
    "POST rollup (compiled path)": lambda s: s.http.post("/graphql", json={"query": ROLLUP}),
    "POST rollup, graphql-response": lambda s: s.http.post(
        "/graphql",
        json={"query": ROLLUP},
        headers={"accept": "application/graphql-response+json"},
    ),
    "POST mutation": lambda s: s.http.post(
        "/graphql", json={"query": VISIT, "variables": {"input": s.visit()}}
    ),
    "POST saved query (documentId)": lambda s: s.http.post(
        "/graphql", json={"documentId": s.saved_id, "variables": {"area": "519902"}}
    ),
    "GET query": lambda s: s.http.get("/graphql", params={"query": AREA}),
    "GET ledger export": lambda s: s.http.get("/ledgers/export.xlsx?area=519902"),
    "GET ledger template": lambda s: s.http.get("/ledgers/template.xlsx"),
    "GET report (csv)": lambda s: s.http.get("/reports/households.csv?area=519902"),
    "GET report (xlsx)": lambda s: s.http.get("/reports/households.xlsx?area=519902"),
    "GET readyz": lambda s: s.http.get("/readyz"),
}

# What reads nothing from the database once past the door.
NO_DATABASE = frozenset({"GET ledger template"})


async def _admin(url: str) -> asyncpg.Connection:
    parsed = make_url(postgres_url() or url)
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )


async def _load(url: str, settings: Settings) -> None:
    """Migrate and load the same rows every time: a tree, the tester, the saved queries."""
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
        await truncate_all(engine)
        await make_tree(create_sessionmaker(engine))
    finally:
        await engine.dispose()
    async with system_context(settings) as context:
        pushed = await seed_saved_queries(context)
    assert not any(p.errors for p in pushed), pushed


@pytest.fixture(params=["sqlite", "postgres", "postgres-behind-the-door"])
async def scene(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Scene]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
        away = tmp_path / "away"
        away.mkdir()
        holder: list[Starlette] = []

        async def take_away() -> None:
            for suffix in ("", "-wal", "-shm"):
                if (tmp_path / f"test.db{suffix}").exists():
                    os.replace(tmp_path / f"test.db{suffix}", away / f"test.db{suffix}")
            path.mkdir()  # nothing can open the database, nor create a new one there
            await holder[0].state.engine.dispose()

        async def bring_back() -> None:
            path.rmdir()
            for moved in away.iterdir():
                shutil.move(moved, tmp_path / moved.name)

    else:
        base = postgres_url()
        if base is None:
            pytest.skip("PostgreSQL tests off (TEST_POSTGRES_URL=off)")
        parsed = make_url(base)
        behind = request.param == "postgres-behind-the-door"
        name = f"{parsed.database}_gone"
        role = f"{name}_app"
        url = parsed.set(database=name, username=role).render_as_string(hide_password=False)
        try:
            admin = await _admin(url)
        except (OSError, asyncpg.PostgresError) as error:
            pytest.skip(f"PostgreSQL unreachable: {error}")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
            await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(f'ALTER ROLE "{role}" LOGIN')
        await admin.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
        await admin.close()
        holder = []

        async def take_away() -> None:
            connection = await _admin(url)
            try:
                if behind:
                    # The app may not log in any more and its sessions end — all but the
                    # policy listener's: the door still passes without the database, so
                    # every path behind it meets the database gone.
                    await connection.execute(f'ALTER ROLE "{role}" NOLOGIN')
                    await connection.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = $1 AND application_name NOT LIKE 'grassroots-policy:%'",
                        name,
                    )
                else:
                    await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            finally:
                await connection.close()

        async def bring_back() -> None:
            connection = await _admin(url)
            try:
                if behind:
                    await connection.execute(f'ALTER ROLE "{role}" LOGIN')
                    return
                await connection.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
            finally:
                await connection.close()
            await _load(url, settings)

    settings = Settings(database_url=url, environment=Environment.DEVELOPMENT)
    await _load(url, settings)
    application = create_app(settings)
    holder.append(application)
    headers = {"authorization": f"Bearer {token_for(settings, TESTER)}"}
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers=headers
        ) as http:
            yield Scene(request.param, url, settings, application, http, take_away, bring_back)
    if request.param != "sqlite":
        admin = await _admin(url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _all_answer(scene: Scene) -> list[str]:
    problems = []
    for where, send in REQUESTS.items():
        response = await send(scene)
        body = response.text if "json" in response.headers.get("content-type", "") else ""
        failed = '"errors":[{' in body or ('"errors"' in body and '"errors":[]' not in body)
        if response.status_code != 200 or failed:
            problems.append(f"{where}: {response.status_code} {body[:300]}")
    return problems


async def test_a_database_gone_answers_503_and_comes_back(scene: Scene) -> None:
    scene.saved_id = await _document_id(scene, "households")
    # Everything answers, twice: the second rollup runs on the compiled path.
    assert await _all_answer(scene) == []
    assert await _all_answer(scene) == []

    await scene.take_away()
    problems = []
    for _round in range(2):  # the first finds dead pooled connections, the second none
        for where, send in REQUESTS.items():
            response = await send(scene)
            if where in NO_DATABASE and scene.kind == "postgres-behind-the-door":
                # Past the door (which needed no database) it reads none either.
                if response.status_code != 200:
                    problems.append(f"{where}: {response.status_code} {response.text[:300]}")
                continue
            problems += _unavailable_problems(where, response)
    assert not problems, "\n".join(problems)

    await scene.bring_back()
    # By itself, without a restart: allow the policy watch a moment to reconnect.
    for _attempt in range(50):
        problems = await _all_answer(scene)
        if not problems:
            break
        await asyncio.sleep(0.1)
    assert problems == []


def _unavailable_problems(where: str, response: httpx.Response) -> list[str]:
    text = response.text
    found = []
    if response.status_code != 503:
        found.append(f"{where}: status {response.status_code}: {text[:300]}")
    if not response.headers.get("retry-after", "").isdigit():
        found.append(f"{where}: no Retry-After")
    leaked = [marker for marker in DRIVER_TEXT if marker.lower() in text.lower()]
    if leaked:
        found.append(f"{where}: driver text {leaked}: {text[:300]}")
    if response.status_code == 503:
        body = response.json()
        if where == "GET readyz":
            if body.get("status") != "unavailable":
                found.append(f"{where}: {body}")
        else:
            codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
            if codes != ["SERVICE_UNAVAILABLE"] or "data" in body:
                found.append(f"{where}: {body}")
    return found


async def _document_id(scene: Scene, name: str) -> str:
    query = "query Saved($n: String!) { savedQuery(name: $n) { documentId } }"
    response = await scene.http.post("/graphql", json={"query": query, "variables": {"n": name}})
    document_id: str = response.json()["data"]["savedQuery"]["documentId"]
    return document_id
