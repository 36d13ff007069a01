"""The server refuses an unmigrated or outdated database and says what to run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import DatabaseNotReady, create_app
from app.settings import Settings
from db import migrate

GRASSROOTS = str(Path(sys.executable).parent / "grassroots")


async def test_app_refuses_to_start_on_an_unmigrated_database(
    engine: AsyncEngine, database_url: str
) -> None:
    await migrate.downgrade(engine, "base")
    try:
        app = create_app(Settings(database_url=database_url))
        with pytest.raises(DatabaseNotReady, match="grassroots db upgrade"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        await migrate.upgrade(engine)


def test_serve_command_refuses_an_empty_database(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run(
        [GRASSROOTS, "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "not migrated" in result.stderr
    assert "grassroots db upgrade" in result.stderr
