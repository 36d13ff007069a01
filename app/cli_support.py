"""What the ``grassroots`` commands share: the console, running as the service itself, and
typed outcomes and failures as exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import not_ready_message
from app.settings import Settings
from app.system import system_context
from db import migrate
from db import policy_version as versions
from db.engine import create_engine
from db.models import Area
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE
from resolvers.common.context import Context
from resolvers.common.writes import Outcome

console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def run_system(action: Callable[[Context], Awaitable[T]]) -> T:
    """Run ``action`` as the service itself, on a migrated database.

    A policy change returns only once every running server process holds the new
    version: the next request anywhere obeys it.
    """

    async def run() -> T:
        settings = Settings()
        engine = create_engine(settings.database_url)
        try:
            await require_current(engine)
            commits = versions.local_commits()
            async with system_context(settings) as context:
                result = await action(context)
            if versions.local_commits() != commits:
                version = versions.last_local_version(engine.url)
                if version is not None:
                    await versions.settle(engine, version)
            return result
        finally:
            await engine.dispose()

    return asyncio.run(run())


def fail(message: str) -> NoReturn:
    console.print(message, style="red", markup=False)  # a file's text is not markup
    raise typer.Exit(1)


def value_of(outcome: Outcome[T]) -> T:
    if outcome.errors:
        for error in outcome.errors:
            console.print(f"[red]{error.field}: {error.message}[/red]")
        raise typer.Exit(1)
    assert outcome.value is not None
    return outcome.value


async def require_current(engine: AsyncEngine) -> None:
    state = await migrate.state(engine)
    if not state.is_current:
        console.print(f"[red]{not_ready_message(state)}[/red]")
        raise typer.Exit(2)


async def area_id_of(context: Context, area: str) -> int:
    """An area by national code, or ``id:<n>`` (groups have no code)."""
    async with context.reading() as session:
        found: Area | None
        if area.startswith("id:") and area[3:].isdigit():
            rows = await area_queries.get_many(
                session=session, area_ids=[int(area[3:])], scope=EVERYWHERE
            )
            found = rows[0] if rows else None
        else:
            found = await area_queries.get_by_code(session=session, code=area, scope=EVERYWHERE)
    if found is None:
        console.print(f"[red]no area {area!r}[/red]")
        raise typer.Exit(1)
    return found.id
