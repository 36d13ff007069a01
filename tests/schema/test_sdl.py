"""The committed SDL is the schema the code builds."""

from __future__ import annotations

from pathlib import Path

from schema.root import sdl

SNAPSHOT = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_committed_sdl_matches_the_code() -> None:
    assert SNAPSHOT.read_text(encoding="utf-8") == sdl(), (
        "schema/schema.graphql is stale: run `grassroots schema print --output "
        "schema/schema.graphql` and commit it"
    )
