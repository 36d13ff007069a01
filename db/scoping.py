"""Scopes as SQL: one WHERE clause of path ranges, applied inside every query.

A scope is any value with ``grants`` (each a subtree ``path`` and an optional
``department_id``) and ``denied`` path prefixes — ``policies.scope.Scope`` is
one; ``db`` only reads its shape. An empty scope matches nothing: never an
empty OR, which SQLAlchemy would render as no condition at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from db.paths import path_end


class GrantShape(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def department_id(self) -> int | None: ...


class ScopeShape(Protocol):
    @property
    def grants(self) -> Sequence[GrantShape]: ...

    @property
    def denied(self) -> Sequence[str]: ...


def _in_subtree(column: Any, prefix: str) -> ColumnElement[bool]:
    return and_(column >= prefix, column < path_end(prefix))


def clause(scope: ScopeShape, path: Any, department: Any | None = None) -> ColumnElement[bool]:
    """Rows whose ``path`` (and ``department``) the scope admits."""
    if not scope.grants:
        return false()
    allowed = []
    for grant in scope.grants:
        inside = _in_subtree(path, grant.path)
        if grant.department_id is not None:
            inside = (
                and_(inside, department == grant.department_id)
                if department is not None
                else false()
            )
        allowed.append(inside)
    condition: ColumnElement[bool] = or_(*allowed)
    if scope.denied:
        condition = and_(condition, not_(or_(*(_in_subtree(path, d) for d in scope.denied))))
    return condition


def county_clause(scope: ScopeShape, county_id: Any) -> ColumnElement[bool]:
    """Rows of a county that any grant of the scope lies in (first segment of its path)."""
    if any(g.path == "/" for g in scope.grants):
        return true()
    counties = sorted({int(g.path.strip("/").split("/")[0]) for g in scope.grants})
    return county_id.in_(counties) if counties else false()


class _Root:
    path = "/"
    department_id = None


class _Everywhere:
    """The scope of the system itself (seeding, the CLI): every path."""

    grants: tuple[GrantShape, ...] = (_Root(),)
    denied: tuple[str, ...] = ()


EVERYWHERE: ScopeShape = _Everywhere()


class _Nowhere:
    """A scope that admits nothing (a ledger the caller may not see)."""

    grants: tuple[GrantShape, ...] = ()
    denied: tuple[str, ...] = ()


NOWHERE: ScopeShape = _Nowhere()
