"""The ``grassroots`` command: database, demo data, access, schema, server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from app.cli_access import keys_cli, policy_cli, roles_cli, token_cli, users_cli
from app.cli_support import console, require_current, run_system, value_of
from app.demo import DEMO_USERS, seed_demo_ledgers, seed_demo_users, seed_saved_queries
from app.main import not_ready_message
from app.observability import configure_logging
from app.settings import Settings
from app.system import system_context
from db import counters, migrate
from db.engine import create_engine, create_sessionmaker, write_transaction
from db.seed import SHIPPED_QUERIES, query_files
from db.seed.demo import seed_demo
from policies.authorizer import shipped_rules
from resolvers import saved_queries, saved_query_files
from resolvers.access import rules as access_rules
from resolvers.common.context import Context
from schema.root import graphql_schema

cli = typer.Typer(help="Grassroots: the ledgers of a county's grassroots work, over GraphQL.")
db_cli = typer.Typer(help="The database: migrations.")
seed_cli = typer.Typer(help="Data sets to load.")
schema_cli = typer.Typer(help="The GraphQL schema.")
counters_cli = typer.Typer(help="The per-area counters behind rollups.")
queries_cli = typer.Typer(help="Saved queries (persisted documents) for reports and clients.")
for group, name in (
    (db_cli, "db"),
    (seed_cli, "seed"),
    (schema_cli, "schema"),
    (users_cli, "users"),
    (roles_cli, "roles"),
    (keys_cli, "keys"),
    (token_cli, "token"),
    (policy_cli, "policy"),
    (counters_cli, "counters"),
    (queries_cli, "queries"),
):
    cli.add_typer(group, name=name)


# -- db -----------------------------------------------------------------------------


@db_cli.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="Target revision")) -> None:
    """Apply migrations up to REVISION (default: the newest); load the shipped policy if none."""
    settings = Settings()

    async def run() -> tuple[migrate.MigrationState, int]:
        engine = create_engine(settings.database_url)
        try:
            await migrate.upgrade(engine, revision)
            state = await migrate.state(engine)
        finally:
            await engine.dispose()
        loaded = 0
        if state.is_current:
            async with system_context(settings) as context:
                loaded = await access_rules.load_rules(context, shipped_rules(), only_if_empty=True)
        return state, loaded

    state, loaded = asyncio.run(run())
    console.print(f"[green]database at revision {state.current}[/green] ({settings.database_url})")
    if loaded:
        console.print(f"loaded the shipped role matrix: {loaded} policy lines")


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


# -- seed ---------------------------------------------------------------------------


@seed_cli.command("demo")
def seed_demo_command() -> None:
    """Load the demo county and its users (idempotent: a second run changes nothing)."""
    settings = Settings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await require_current(engine)
            async with write_transaction(create_sessionmaker(engine)) as session:
                report = await seed_demo(session)
        finally:
            await engine.dispose()
        async with system_context(settings) as context:
            ledgers = await seed_demo_ledgers(context)
            users = await seed_demo_users(context)
            pushed = await seed_saved_queries(context)
        verb = "loaded" if report.created else "already present"
        console.print(
            f"demo county {verb}: {report.areas} areas, {report.households} households, "
            f"{report.cadres} cadres, {report.visits} visits; added {ledgers.meetings} "
            f"meetings, {ledgers.items} ledger items, {ledgers.actions} handling actions, "
            f"{users} users ({', '.join(DEMO_USERS)}); saved queries: "
            f"{', '.join(p.name for p in pushed)}"
        )

    asyncio.run(run())


# -- saved queries ------------------------------------------------------------------


@queries_cli.command("push")
def queries_push(
    folder: Path = typer.Argument(
        SHIPPED_QUERIES, help="A folder of .graphql files (default: the shipped queries)"
    ),
) -> None:
    """Save every .graphql file of FOLDER under its file name; each is checked first.

    Leading `# description: …` and `# roles: a, b` lines give its metadata.
    """
    if not folder.is_dir():
        console.print(f"[red]{folder} is not a folder[/red]")
        raise typer.Exit(1)
    files = saved_query_files.read_folder(query_files(folder))

    async def run(context: Context) -> list[saved_query_files.Pushed]:
        return await saved_query_files.push(context, graphql_schema(), files)

    failed = False
    for pushed in run_system(run):
        if pushed.errors:
            failed = True
            for error in pushed.errors:
                console.print(f"[red]{pushed.name}: {error.field}: {error.message}[/red]")
        else:
            state = "saved" if pushed.created else "unchanged"
            console.print(f"{pushed.name}: version {pushed.version} ({state})")
    if failed:
        raise typer.Exit(1)


@queries_cli.command("list")
def queries_list() -> None:
    """The saved queries: name, newest version, document id, roles."""

    async def run(context: Context) -> list[saved_queries.Saved]:
        return await saved_queries.list_runnable(context)

    for saved in run_system(run):
        typer.echo(f"{saved.name}\tv{saved.version}\t{saved.document_id}\t{','.join(saved.roles)}")


@queries_cli.command("retire")
def queries_retire(name: str) -> None:
    """Stop a saved query from running (every version); pushing it again revives it."""

    async def run(context: Context) -> bool:
        return value_of(await saved_queries.retire(context, name=name))

    run_system(run)
    console.print(f"retired {name}")


@counters_cli.command("rebuild")
def counters_rebuild() -> None:
    """Recompute every counter (and tally) from the base rows, in one transaction."""

    async def run(context: Context) -> int:
        async with write_transaction(context.sessionmaker) as session:
            return await counters.rebuild(session)

    console.print(f"rebuilt {run_system(run)} counters")


@counters_cli.command("check")
def counters_check() -> None:
    """Compare the kept counters with a recount from the base rows; exit 1 if they differ."""

    async def run(context: Context) -> tuple[int, list[str]]:
        async with context.reading() as session:
            kept = await counters.stored(session)
            fresh = await counters.recount(session)
        wrong = [
            f"area {a} {m} {k!r}: kept {kept.get((a, m, k), 0)}, recount {fresh.get((a, m, k), 0)}"
            for (a, m, k) in sorted(set(kept) | set(fresh))
            if kept.get((a, m, k), 0) != fresh.get((a, m, k), 0)
        ]
        return len(fresh), wrong

    total, wrong = run_system(run)
    for line in wrong[:50]:
        console.print(f"[red]{line}[/red]")
    console.print(f"{total} counters checked, {len(wrong)} differ")
    raise typer.Exit(1 if wrong else 0)


# -- schema and server --------------------------------------------------------------


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
    workers: int = typer.Option(
        1, min=1, help="Server processes on the one socket (1: this process serves)"
    ),
) -> None:
    """Serve the GraphQL API (GraphiQL in development) at http://HOST:PORT/graphql.

    uvloop and httptools; with ``--workers N``, N processes share the socket, each
    started like a single server (migration check, GC freeze, policy listener).
    """
    import uvicorn

    settings = Settings()
    state = asyncio.run(_state(settings))
    if not state.is_current:
        console.print(f"[red]refusing to start: {not_ready_message(state)}[/red]")
        raise typer.Exit(2)
    host = host or settings.host
    port = port or settings.port
    plural = "es" if workers > 1 else ""
    console.print(
        f"serving http://{host}:{port}/graphql ({settings.database_url}; {workers} process{plural})"
    )
    # JSON lines on stderr: our request lines replace uvicorn's access log. Each
    # worker configures its own logging when it builds the app (served_app).
    configure_logging(settings.log_level)
    uvicorn.run(
        "app.main:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A worker answers the supervisor's health check once it has imported the
        # service, which takes seconds on a busy machine (uvicorn's default is 5 s).
        timeout_worker_healthcheck=30,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        access_log=False,
        log_config=None,
    )


def main() -> None:
    cli()
