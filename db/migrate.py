"""Alembic, driven from code: upgrade, downgrade, and whether a database is current."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.engine import NO_TRANSACTION_OPTION

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _run(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, lambda cfg: command.downgrade(cfg, revision))


async def _run(engine: AsyncEngine, action: object) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)  # type: ignore[operator]

    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations recreate tables: SQLite must not enforce foreign keys
            # meanwhile (alembic's advice), and honours the switch only outside a
            # transaction, on this same connection. The check below proves nothing
            # dangles afterwards.
            await _sqlite_foreign_keys(connection, on=False)
        try:
            async with connection.begin():
                await connection.run_sync(run)
                if sqlite:
                    check = await connection.exec_driver_sql("PRAGMA foreign_key_check")
                    if dangling := check.all():
                        raise RuntimeError(f"migration left dangling foreign keys: {dangling[:5]}")
        finally:
            if sqlite:
                await _sqlite_foreign_keys(connection, on=True)


async def _sqlite_foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    await connection.execution_options(**{NO_TRANSACTION_OPTION: True})
    await connection.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    await connection.commit()
    await connection.execution_options(**{NO_TRANSACTION_OPTION: False})


@dataclasses.dataclass(frozen=True)
class MigrationState:
    current: str | None
    head: str

    @property
    def is_current(self) -> bool:
        return self.current == self.head


async def state(engine: AsyncEngine) -> MigrationState:
    def current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        revision = await connection.run_sync(current)
    return MigrationState(current=revision, head=head_revision())
