"""Data sets to load: the demo county, and the saved queries shipped with the service."""

from __future__ import annotations

from pathlib import Path

SHIPPED_QUERIES = Path(__file__).parent / "queries"


def query_files(folder: Path = SHIPPED_QUERIES) -> list[tuple[str, str]]:
    """``(name, text)`` of each ``.graphql`` file in ``folder``, by name."""
    return [
        (path.stem, path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.graphql"))
    ]
