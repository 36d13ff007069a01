"""The caller, and what they may do where: one ``Access`` per request.

Scopes come from ``policies`` as values and are memoised for the request;
every query takes the one for its object and action.
"""

from __future__ import annotations

import dataclasses
import functools

from db.ledgers import Ledger
from policies.authorizer import Assignment, Authorizer, Decision
from policies.permissions import Act, Obj, ledger_object
from policies.scope import EVERYWHERE, Scope


@dataclasses.dataclass(frozen=True)
class Grant:
    """A role assignment as the caller sees it (``me.roles``)."""

    role: str
    area_id: int
    path: str
    department_id: int | None


@dataclasses.dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    cadre_id: int | None
    grants: tuple[Grant, ...]

    @functools.cached_property
    def assignments(self) -> tuple[Assignment, ...]:
        return tuple(Assignment(g.role, g.path, g.department_id) for g in self.grants)


class Access:
    def __init__(self, principal: Principal, authorizer: Authorizer) -> None:
        self.principal = principal
        self.authorizer = authorizer
        self._scopes: dict[tuple[str, str], Scope] = {}
        self._ledger_scopes: dict[Act, dict[Ledger, Scope]] = {}

    @property
    def user_id(self) -> int:
        return self.principal.user_id

    @property
    def cadre_id(self) -> int | None:
        return self.principal.cadre_id

    def scope(self, obj: str, act: Act = Act.READ) -> Scope:
        key = (obj, act.value)
        if key not in self._scopes:
            self._scopes[key] = self.authorizer.scope(self.principal.assignments, obj, act)
        return self._scopes[key]

    def ledger_scopes(self, act: Act = Act.READ) -> dict[Ledger, Scope]:
        """Each ledger the caller may ``act`` on somewhere, with where."""
        if act not in self._ledger_scopes:
            found = {ledger: self.scope(ledger_object(ledger.value), act) for ledger in Ledger}
            self._ledger_scopes[act] = {k: v for k, v in found.items() if not v.empty}
        return dict(self._ledger_scopes[act])

    @property
    def visible_ledgers(self) -> frozenset[Ledger]:
        return frozenset(self.ledger_scopes(Act.READ))

    def can(self, obj: str, act: Act, path: str | None) -> bool:
        scope = self.scope(obj, act)
        return not scope.empty if path is None else scope.admits(path)

    def explain(
        self, obj: str, act: Act, path: str
    ) -> list[tuple[Grant, Decision, tuple[str, ...]]]:
        """For each of the caller's grants covering ``path``: what the matrix said, and why."""
        found = []
        for grant in self.principal.grants:
            if path.startswith(grant.path):
                decision, lines = self.authorizer.decide(grant.role, obj, act)
                found.append((grant, decision, lines))
        return found


class SystemAccess(Access):
    """The service itself (demo loading, maintenance): everywhere, every action.

    Never built from a request; its writes are audited with no user.
    """

    def __init__(self, authorizer: Authorizer) -> None:
        super().__init__(Principal(0, "system", None, ()), authorizer)

    def scope(self, obj: str, act: Act = Act.READ) -> Scope:
        return EVERYWHERE


__all__ = ["Access", "Act", "Grant", "Obj", "Principal", "SystemAccess"]
