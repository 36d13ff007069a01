"""The ``grassroots`` access commands: users, roles, API keys, tokens and the role matrix."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from app.auth import AuthError, mint_token
from app.cli_support import area_id_of, console, fail, run_system, value_of
from app.settings import Settings
from policies.authorizer import shipped_rules
from resolvers.access import grants as access_grants
from resolvers.access import keys as access_keys
from resolvers.access import rules as access_rules
from resolvers.access import users as access_users
from resolvers.common.context import Context

users_cli = typer.Typer(help="Users.")
roles_cli = typer.Typer(help="Roles granted at areas (a grant holds for the whole subtree).")
keys_cli = typer.Typer(help="API keys for reporting tools.")
token_cli = typer.Typer(help="Bearer tokens.")
policy_cli = typer.Typer(help="The role matrix (Casbin policy).")


@users_cli.command("create")
def users_create(
    username: str,
    display_name: str = typer.Option("", help="A name to show"),
    cadre_id: int | None = typer.Option(None, help="The cadre this user is (their own record)"),
) -> None:
    """Create a user (they sign in with a token or an API key)."""

    async def run(context: Context) -> None:
        user = value_of(
            await access_users.create_user(
                context, username=username, display_name=display_name, cadre_id=cadre_id
            )
        )
        console.print(f"created user {user.username}")

    run_system(run)


@roles_cli.command("grant")
def roles_grant(
    username: str,
    role: str,
    area: str = typer.Argument(..., help="The area's national code, or id:<n>"),
    department_id: int | None = typer.Option(None, help="Department cadres: their department"),
) -> None:
    """Grant ROLE to USERNAME at AREA (and its whole subtree)."""

    async def run(context: Context) -> None:
        data = access_grants.GrantInput(
            username, role, await area_id_of(context, area), department_id
        )
        changed = value_of(await access_grants.change_grant(context, data))
        console.print("granted" if changed else "already granted")

    run_system(run)


@roles_cli.command("revoke")
def roles_revoke(username: str, role: str, area: str) -> None:
    """Revoke ROLE from USERNAME at AREA; every server process stops honouring it at once."""

    async def run(context: Context) -> None:
        data = access_grants.GrantInput(
            username, role, await area_id_of(context, area), None, revoke=True
        )
        changed = value_of(await access_grants.change_grant(context, data))
        console.print("revoked" if changed else "was not granted")

    run_system(run)


@keys_cli.command("create")
def keys_create(username: str, name: str = typer.Argument(..., help="What the key is for")) -> None:
    """Create an API key for USERNAME; it is printed once and stored only hashed."""

    async def run(context: Context) -> None:
        key = value_of(await access_keys.create_api_key(context, username=username, name=name))
        console.print("the key (shown once, keep it safe):")
        typer.echo(key)

    run_system(run)


@keys_cli.command("revoke")
def keys_revoke(prefix: str = typer.Argument(..., help="The key, or its gr_<prefix> part")) -> None:
    """Revoke an API key."""
    short = prefix.removeprefix("gr_").split("_")[0]

    async def run(context: Context) -> None:
        revoked = value_of(await access_keys.revoke_api_key(context, prefix=short))
        console.print("revoked" if revoked else "no such active key")

    run_system(run)


@token_cli.command("mint")
def token_mint(
    username: str, minutes: int = typer.Option(60, help="How long the token is valid")
) -> None:
    """Mint a bearer token for USERNAME with the configured signing key (for local use)."""
    try:
        typer.echo(mint_token(Settings().auth_config(), username, minutes=minutes))
    except AuthError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


@policy_cli.command("load")
def policy_load(
    file: Path | None = typer.Option(None, help="A policy CSV (default: the shipped matrix)"),
) -> None:
    """Replace the role matrix in the database; every process reloads it at once."""
    from policies.authorizer import PolicyFileError, rules_from_text

    try:
        rules = rules_from_text(file.read_bytes().decode("utf-8")) if file else shipped_rules()
    except UnicodeDecodeError as error:
        fail(f"{file}: not UTF-8 text (byte {error.start})")
    except PolicyFileError as error:
        fail(f"{file}: {error}; nothing loaded")
    except OSError as error:
        fail(f"{file}: {error.strerror}")

    async def run(context: Context) -> int:
        return await access_rules.load_rules(context, rules, only_if_empty=False)

    console.print(f"loaded {run_system(run)} policy lines")


@policy_cli.command("matrix")
def policy_matrix() -> None:
    """Print the shipped role matrix as a Markdown table (the README's)."""
    from policies.authorizer import matrix_markdown

    sys.stdout.write(matrix_markdown(shipped_rules()))


@policy_cli.command("show")
def policy_show() -> None:
    """Print the role matrix as the database holds it."""
    for rule in run_system(access_rules.list_rules):
        typer.echo(rule.line())
