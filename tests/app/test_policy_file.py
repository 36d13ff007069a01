"""`grassroots policy load --file`: a bad file is refused with its line named, nothing loaded.

The file is an input path like the API's: bytes that are not UTF-8, a NUL or
other control character, and a line that ``setPolicyRule`` would refuse are
each a clear error (exit 1, no traceback), and the matrix in the database stays
as it was.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

GRASSROOTS = str(Path(sys.executable).parent / "grassroots")

BAD = {
    "not UTF-8": (b"p, admin, access, read, allow\np, admin, \xff\xfe, read, allow\n", "UTF-8"),
    "NUL in a role": (b"p, adm\x00in, access, read, allow\n", "line 1: role must be"),
    "control character": (b"# ok\np, admin, acc\x07ess, read, allow\n", "line 2: object must"),
    "bad action": (b"p, admin, access, delete, allow\n", "line 1: action must be read or write"),
    "bad effect": (b"p, admin, access, read, maybe\n", "line 1: effect must be allow or deny"),
    "too few fields": (b"p, admin, access, read\n", "line 1: not `p, role, object"),
    "surrogate escape bytes": (b"p, admin, \xed\xa0\x80, read, allow\n", "UTF-8"),
}


async def _rules(engine: AsyncEngine) -> list[tuple[str, ...]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT role, obj, act, eft FROM policy_rule ORDER BY role, obj, act")
        )
        return [tuple(row) for row in rows]


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_bad_policy_file_is_refused_and_loads_nothing(
    case: str, tmp_path: Path, engine: AsyncEngine, database_url: str
) -> None:
    content, said = BAD[case]
    before = await _rules(engine)
    path = tmp_path / "policy.csv"
    path.write_bytes(content)
    process = await asyncio.create_subprocess_exec(
        GRASSROOTS,
        "policy",
        "load",
        "--file",
        str(path),
        env={**os.environ, "DATABASE_URL": database_url, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    out = output.decode(errors="replace")
    assert process.returncode == 1, out
    assert said in out
    assert "Traceback" not in out
    assert await _rules(engine) == before
