"""Scopes: where a user may do something, as sorted, collapsed path prefixes.

A path prefix names an area's whole subtree (``/00000001/00000004/``). A grant
may carry a department: then it covers only that department's rows. Denied
prefixes are carved out of the grants. ``db`` turns a scope into one WHERE
clause of path ranges; nothing here knows SQL.
"""

from __future__ import annotations

import dataclasses


def _under(path: str, prefix: str) -> bool:
    return path.startswith(prefix)


@dataclasses.dataclass(frozen=True, order=True)
class Grant:
    path: str
    department_id: int | None = None

    def covers(self, other: Grant) -> bool:
        """Whether this grant alone already admits everything ``other`` admits."""
        same_department = self.department_id is None or self.department_id == other.department_id
        return _under(other.path, self.path) and same_department


@dataclasses.dataclass(frozen=True)
class Scope:
    grants: tuple[Grant, ...] = ()
    denied: tuple[str, ...] = ()

    @classmethod
    def of(cls, grants: list[Grant], denied: list[str]) -> Scope:
        """Collapse: drop grants inside other grants, denials outside every grant."""
        kept: list[Grant] = []
        for grant in sorted(set(grants), key=lambda g: (g.path, g.department_id is not None)):
            if not any(k.covers(grant) for k in kept):
                kept.append(grant)
        cut: list[str] = []
        for prefix in sorted(set(denied)):
            if any(_under(prefix, d) for d in cut):
                continue
            if any(_under(prefix, g.path) or _under(g.path, prefix) for g in kept):
                cut.append(prefix)
        # A grant wholly inside a denied subtree admits nothing.
        kept = [g for g in kept if not any(_under(g.path, d) for d in cut)]
        return cls(grants=tuple(kept), denied=tuple(cut))

    @property
    def empty(self) -> bool:
        return not self.grants

    def admits(self, path: str, department_id: int | None = None) -> bool:
        """Whether a row at ``path`` (of ``department_id``) is in scope."""
        if any(_under(path, d) for d in self.denied):
            return False
        return any(
            _under(path, g.path) and (g.department_id is None or g.department_id == department_id)
            for g in self.grants
        )

    def covers(self, path: str) -> bool:
        """Whether the whole subtree at ``path`` is in scope (for every department)."""
        whole = any(g.department_id is None and _under(path, g.path) for g in self.grants)
        return whole and not any(_under(d, path) or _under(path, d) for d in self.denied)


# The system's own scope (checks that concern the tree above a caller's reach).
EVERYWHERE = Scope(grants=(Grant("/"),))
