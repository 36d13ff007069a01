"""Migrations build exactly the models' schema, both ways, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from db import migrate
from db.models import Base


async def test_migrated_database_matches_the_models(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_state_is_current_after_upgrade(engine: AsyncEngine) -> None:
    state = await migrate.state(engine)
    assert state.is_current
    assert state.current == migrate.head_revision()


async def test_downgrade_to_base_and_back(engine: AsyncEngine) -> None:
    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    await migrate.downgrade(engine, "base")
    try:
        state = await migrate.state(engine)
        assert state.current is None and not state.is_current
        async with engine.connect() as connection:
            assert not (await connection.run_sync(tables)) & set(Base.metadata.tables)
    finally:
        await migrate.upgrade(engine)
    async with engine.connect() as connection:
        assert set(Base.metadata.tables) <= await connection.run_sync(tables)
