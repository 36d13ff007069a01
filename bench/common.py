"""Fresh benchmark databases on SQLite or PostgreSQL."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from db import migrate
from db.engine import create_engine

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/grassroots_bench"


async def fresh_database(kind_or_url: str) -> str:
    """An empty, migrated database: "sqlite", "postgres", or a URL (dropped and recreated)."""
    if kind_or_url == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="grassroots-bench-")) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = DEFAULT_POSTGRES if kind_or_url == "postgres" else kind_or_url
        parsed = make_url(url)
        admin = await asyncpg.connect(
            host=parsed.host,
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            database="postgres",
        )
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{parsed.database}"')
        finally:
            await admin.close()
    engine = create_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    return url


async def migrated(url: str) -> None:
    """Bring an existing benchmark database up to this code's migrations (the server
    refuses to start on an older one)."""
    engine = create_engine(url)
    try:
        state = await migrate.state(engine)
        if not state.is_current:
            print(f"migrating {url} to the code's head revision", file=sys.stderr)
            await migrate.upgrade(engine)
    finally:
        await engine.dispose()
