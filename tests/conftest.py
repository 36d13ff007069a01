"""Fixtures: every data test runs on SQLite and on PostgreSQL, from a clean state.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server, database
``grassroots_test``, created if missing). When it is unreachable the PostgreSQL
half is skipped locally; with CI=true that is a failure, and so is any skipped
PostgreSQL test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.auth import mint_token
from app.main import create_app
from app.settings import Environment, Settings
from db import migrate
from db.engine import create_engine, create_sessionmaker, is_sqlite
from db.models import Base, PolicyRule, PolicyVersion
from db.queries import access as access_queries
from policies.authorizer import shipped_rules

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/grassroots_test"
SHIPPED = shipped_rules()
# The user the default test client signs in as; test data grants it roles.
TESTER = "tester"
IN_CI = os.environ.get("CI", "").lower() == "true"


def postgres_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return None if url in ("", "off") else url


async def _ensure_postgres_database(url: str) -> None:
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database="postgres",
        timeout=5,
    )
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await connection.close()


async def _reset_schema(engine: AsyncEngine) -> None:
    """Drop everything, so the session's migration starts from an empty database."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        else:
            await connection.run_sync(Base.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated-from-empty database of each kind, for the whole session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        found = postgres_url()
        if found is None:
            if IN_CI:
                pytest.fail("CI=true but TEST_POSTGRES_URL is off: PostgreSQL tests must run")
            pytest.skip("PostgreSQL tests off (TEST_POSTGRES_URL=off)")
        url = found
        try:
            await _ensure_postgres_database(url)
        except (OSError, asyncpg.PostgresError) as error:
            if IN_CI:
                pytest.fail(f"CI=true but PostgreSQL at {url} is unreachable: {error}")
            pytest.skip(f"PostgreSQL at {url} unreachable: {error}")
    engine = create_engine(url)
    try:
        await _reset_schema(engine)
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every table, then put back what a migrated database starts with:
    the policy version row and the shipped role matrix."""
    tables = [table.name for table in Base.metadata.sorted_tables]
    async with engine.begin() as connection:
        if is_sqlite(str(engine.url)):
            # audit_event's append-only triggers (0007) stand aside for the wipe, as
            # PostgreSQL's row triggers do for TRUNCATE: dropped and re-created here.
            triggers = (
                await connection.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                )
            ).all()
            for name, _sql in triggers:
                await connection.execute(text(f'DROP TRIGGER "{name}"'))
            for name in reversed(tables):
                await connection.execute(text(f'DELETE FROM "{name}"'))
            for _name, sql in triggers:
                await connection.execute(text(sql))
        else:
            names = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await connection.execute(insert(PolicyVersion), [{"id": 1, "version": 1}])
        await connection.execute(
            insert(PolicyRule),
            [{"role": r.role, "obj": r.obj, "act": r.act, "eft": r.eft} for r in SHIPPED],
        )


@pytest.fixture
async def clean_engine(engine: AsyncEngine) -> AsyncEngine:
    """The session's engine over an emptied database: each test starts clean."""
    await truncate_all(engine)
    return engine


@pytest.fixture
def sessionmaker(clean_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(clean_engine)


@pytest.fixture
def settings(clean_engine: AsyncEngine, database_url: str) -> Settings:
    return Settings(database_url=database_url, environment=Environment.DEVELOPMENT)


def token_for(settings: Settings, username: str) -> str:
    return mint_token(settings.auth_config(), username)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app, started (lifespan included)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(
    app: Starlette, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in as ``tester`` (who holds what test data grants it)."""
    async with sessionmaker.begin() as session:
        if await access_queries.get_user(session=session, username=TESTER) is None:
            await access_queries.create_user(
                session=session, username=TESTER, display_name="", cadre_id=None
            )
    headers = {"authorization": f"Bearer {token_for(settings, TESTER)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as http:
        yield http


@pytest.fixture
def anonymous(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client without credentials."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


# -- CI guard: a run in which PostgreSQL tests were skipped fails -----------------

_postgres_outcomes: dict[str, int] = {"passed": 0, "skipped": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgres" not in report.nodeid.split("[", 1)[-1]:
        return
    if report.skipped:
        _postgres_outcomes["skipped"] += 1
    elif report.when == "call" and report.passed:
        _postgres_outcomes["passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI or session.config.option.collectonly:
        return
    if _postgres_outcomes["skipped"] or not _postgres_outcomes["passed"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    passed, skipped = _postgres_outcomes["passed"], _postgres_outcomes["skipped"]
    terminalreporter.write_line(f"PostgreSQL tests: {passed} passed, {skipped} skipped")
    if IN_CI and (skipped or not passed):
        terminalreporter.write_line(
            "FAILED: CI=true requires the PostgreSQL tests to run", red=True
        )
