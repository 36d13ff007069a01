"""The authorizer: who may do what, and where, answered as values.

Casbin decides what a role may do (the p lines of the role matrix); the
user's role assignments say where. For (assignments, object, action) the
authorizer returns a :class:`Scope`. A policy version gets one authorizer,
built fresh and swapped in whole when the version changes; decisions are
memoised per authorizer.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Sequence
from pathlib import Path

import casbin
from cachetools import LRUCache

from policies.permissions import LEDGER_KINDS, is_department_ledger, ledger_object
from policies.scope import Grant, Scope

MODEL_PATH = Path(__file__).parent / "model.conf"
POLICY_PATH = Path(__file__).parent / "policy.csv"


class Decision(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"


@dataclasses.dataclass(frozen=True)
class Rule:
    role: str
    obj: str
    act: str
    eft: str

    def line(self) -> str:
        return f"p, {self.role}, {self.obj}, {self.act}, {self.eft}"


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A role held at an area (its path), perhaps for one department."""

    role: str
    path: str
    department_id: int | None = None


def shipped_rules() -> list[Rule]:
    """The role matrix as shipped in ``policy.csv``."""
    return rules_from_text(POLICY_PATH.read_text(encoding="utf-8"))


ACTIONS = ("read", "write")
EFFECTS = ("allow", "deny")
NAME_RULE = "1–64 printable characters, no commas, no surrounding spaces"


def rule_problems(role: str, obj: str, act: str, eft: str | None) -> list[tuple[str, str]]:
    """What is wrong with one policy line, as (field, what it must be); the same
    checks for ``setPolicyRule`` and for a policy file."""
    problems = []
    if act not in ACTIONS:
        problems.append(("action", "read or write"))
    if eft is not None and eft not in EFFECTS:
        problems.append(("effect", "allow or deny"))
    for field, value in (("role", role), ("object", obj)):
        if (
            not value
            or "," in value
            or len(value) > 64
            or value != value.strip()
            or not value.isprintable()
        ):
            problems.append((field, NAME_RULE))
    return problems


class PolicyFileError(ValueError):
    pass


def rules_from_text(text: str) -> list[Rule]:
    """Policy CSV lines (``p, role, object, action, effect``); whole-line # comments.

    Every line is checked as ``setPolicyRule`` checks one; the first bad line is
    named with its number."""
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind, *fields = (part.strip() for part in line.split(","))
        if kind != "p" or len(fields) != 4:
            raise PolicyFileError(f"line {number}: not `p, role, object, action, effect`")
        problems = rule_problems(*fields)
        if problems:
            said = "; ".join(f"{field} must be {rule}" for field, rule in problems)
            raise PolicyFileError(f"line {number}: {said}")
        rules.append(Rule(*fields))
    return rules


def new_enforcer(rules: Iterable[Rule]) -> casbin.Enforcer:
    model = casbin.model.Model()
    model.load_model_from_text(MODEL_PATH.read_text(encoding="utf-8"))
    enforcer = casbin.Enforcer(model)
    for rule in rules:
        enforcer.add_policy(rule.role, rule.obj, rule.act, rule.eft)
    return enforcer


class Authorizer:
    def __init__(self, rules: Sequence[Rule], version: int = 0) -> None:
        self.version = version
        self.rules = tuple(rules)
        self._enforcer = new_enforcer(self.rules)
        self._decisions: dict[tuple[str, str, str], tuple[Decision, tuple[str, ...]]] = {}
        # Bounded: one entry per distinct set of grants, object and action seen.
        self._scopes: LRUCache[tuple[tuple[Assignment, ...], str, str], Scope] = LRUCache(
            maxsize=50_000
        )

    @property
    def roles(self) -> list[str]:
        return sorted({rule.role for rule in self.rules})

    def decide(self, role: str, obj: str, act: str) -> tuple[Decision, tuple[str, ...]]:
        """What the matrix says for a role, and the policy line that said it."""
        key = (role, obj, act)
        if key not in self._decisions:
            allowed, explain = self._enforcer.enforce_ex(role, "/", obj, act)
            if allowed:
                decision = Decision.ALLOW
            elif explain and explain[-1] == "deny":
                decision = Decision.DENY
            else:
                decision = Decision.NONE
            line = ("p, " + ", ".join(explain),) if explain else ()
            self._decisions[key] = (decision, line)
        return self._decisions[key]

    def scope(self, assignments: Iterable[Assignment], obj: str, act: str) -> Scope:
        """Where the holder of ``assignments`` may ``act`` on ``obj`` (memoised: this
        authorizer lives as long as its policy version, and a scope is a plain value)."""
        key = (tuple(assignments), obj, act)
        found = self._scopes.get(key)
        if found is None:
            found = self._scopes[key] = self._scope(key[0], obj, act)
        return found

    def _scope(self, assignments: Iterable[Assignment], obj: str, act: str) -> Scope:
        grants: list[Grant] = []
        denied: list[str] = []
        department_owned = is_department_ledger(obj)
        for assignment in assignments:
            decision, _line = self.decide(assignment.role, obj, act)
            if decision is Decision.ALLOW:
                if department_owned and assignment.department_id is not None:
                    # A department's ledgers belong to it county-wide, wherever
                    # its cadre's territorial assignments are.
                    county = "/" + assignment.path.strip("/").split("/")[0] + "/"
                    grants.append(Grant(county, assignment.department_id))
                else:
                    grants.append(Grant(assignment.path))
            elif decision is Decision.DENY:
                denied.append(assignment.path)
        return Scope.of(grants, denied)


def matrix_markdown(rules: Sequence[Rule]) -> str:
    """The role matrix as a Markdown table: role × object, cells ``r``/``w`` (``-`` denied)."""
    authorizer = Authorizer(rules)
    roles = authorizer.roles
    objects = [
        "area",
        "household",
        "household.pii",
        "cadre",
        "visit",
        "meeting",
        *(ledger_object(kind) for kind in LEDGER_KINDS),
        "audit",
        "access",
    ]
    header = "| role | " + " | ".join(f"`{o}`" for o in objects) + " |"
    lines = [header, "|---|" + "---|" * len(objects)]
    for role in roles:
        cells = []
        for obj in objects:
            cell = ""
            for act, mark in (("read", "r"), ("write", "w")):
                decision, _ = authorizer.decide(role, obj, act)
                if decision is Decision.ALLOW:
                    cell += mark
                elif decision is Decision.DENY:
                    cell += "-"
            cells.append(cell or " ")
        lines.append(f"| {role} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
