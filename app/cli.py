"""The ``grassroots`` command: database, demo data, schema, server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from app.demo import seed_demo_ledgers
from app.main import context_factory, create_app, not_ready_message
from app.settings import Settings
from db import migrate
from db.engine import create_engine, create_sessionmaker, write_transaction
from db.seed.demo import seed_demo

cli = typer.Typer(help="Grassroots: the ledgers of a county's grassroots work, over GraphQL.")
db_cli = typer.Typer(help="The database: migrations.")
seed_cli = typer.Typer(help="Data sets to load.")
schema_cli = typer.Typer(help="The GraphQL schema.")
cli.add_typer(db_cli, name="db")
cli.add_typer(seed_cli, name="seed")
cli.add_typer(schema_cli, name="schema")
console = Console(stderr=True, soft_wrap=True)


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    settings = Settings()

    async def run() -> migrate.MigrationState:
        engine = create_engine(settings.database_url)
        try:
            await migrate.upgrade(engine, revision)
            return await migrate.state(engine)
        finally:
            await engine.dispose()

    state = asyncio.run(run())
    console.print(f"[green]database at revision {state.current}[/green] ({settings.database_url})")


@db_cli.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base")) -> None:
    """Undo migrations down to REVISION."""
    settings = Settings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await migrate.downgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    console.print(f"database downgraded to {revision}")


@db_cli.command("current")
def db_current() -> None:
    """Print the database's revision and whether it is the newest."""
    state = asyncio.run(_state(Settings()))
    typer.echo(f"current: {state.current or 'none'}  head: {state.head}")
    raise typer.Exit(0 if state.is_current else 1)


async def _state(settings: Settings) -> migrate.MigrationState:
    engine = create_engine(settings.database_url)
    try:
        return await migrate.state(engine)
    finally:
        await engine.dispose()


@seed_cli.command("demo")
def seed_demo_command() -> None:
    """Load the demo county (idempotent: a second run changes nothing)."""
    settings = Settings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await _require_current(engine)
            sessionmaker = create_sessionmaker(engine)
            async with write_transaction(sessionmaker) as session:
                report = await seed_demo(session)
            ledgers = await seed_demo_ledgers(context_factory(settings, sessionmaker)())
        finally:
            await engine.dispose()
        verb = "loaded" if report.created else "already present"
        console.print(
            f"demo county {verb}: {report.areas} areas, {report.households} households, "
            f"{report.cadres} cadres, {report.visits} visits; added {ledgers.meetings} "
            f"meetings, {ledgers.items} ledger items, {ledgers.actions} handling actions"
        )

    asyncio.run(run())


async def _require_current(engine: AsyncEngine) -> None:
    state = await migrate.state(engine)
    if not state.is_current:
        console.print(f"[red]{not_ready_message(state)}[/red]")
        raise typer.Exit(2)


@schema_cli.command("print")
def schema_print(
    output: Path | None = typer.Option(None, help="Write to this file instead of stdout"),
) -> None:
    """Print the GraphQL schema as SDL (committed as schema/schema.graphql)."""
    from schema.root import sdl

    if output is None:
        sys.stdout.write(sdl())
    else:
        output.write_text(sdl(), encoding="utf-8")


@cli.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Default: HOST setting (127.0.0.1)"),
    port: int | None = typer.Option(None, help="Default: PORT setting (8000)"),
) -> None:
    """Serve the GraphQL API (GraphiQL in development) at http://HOST:PORT/graphql."""
    import uvicorn

    settings = Settings()
    state = asyncio.run(_state(settings))
    if not state.is_current:
        console.print(f"[red]refusing to start: {not_ready_message(state)}[/red]")
        raise typer.Exit(2)
    host = host or settings.host
    port = port or settings.port
    console.print(f"serving http://{host}:{port}/graphql ({settings.database_url})")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def main() -> None:
    cli()
