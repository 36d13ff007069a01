"""The project's shape: its packages are its own, and imports go one way."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["app", "schema", "resolvers", "policies", "db"])
def test_package_resolves_inside_the_repository(package: str) -> None:
    # Generic names like `schema` or `db` exist on PyPI too: we must get ours.
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


def test_layers_import_one_way_only() -> None:
    # app -> schema -> resolvers -> {policies, db}, and schema reaches db only through
    # db.rows: the import-linter contracts.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_pycasbin_not_the_old_casbin_distribution() -> None:
    from importlib.metadata import PackageNotFoundError, distribution

    assert distribution("pycasbin").version.startswith("2.")
    with pytest.raises(PackageNotFoundError):
        distribution("casbin")


def test_readme_role_matrix_is_the_policy() -> None:
    from policies.authorizer import matrix_markdown, shipped_rules

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("<!-- role-matrix -->\n", 1)[1].split("<!-- /role-matrix -->", 1)[0]
    assert shown == matrix_markdown(shipped_rules()), "run `grassroots policy matrix`"


def test_policy_ledger_names_are_the_catalog() -> None:
    from db.ledgers import Ledger
    from policies.permissions import LEDGER_KINDS

    assert list(LEDGER_KINDS) == [ledger.value for ledger in Ledger]
