"""Scopes as values: collapsing, admitting, and the authorizer against Casbin, no database."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from casbin.util import key_match

from policies.authorizer import Assignment, Authorizer, new_enforcer, shipped_rules
from policies.permissions import Act, Obj, Role, ledger_object
from policies.scope import Grant, Scope

RULES = shipped_rules()
AUTHORIZER = Authorizer(RULES)
LEDGERS = [
    "livelihood", "hardship", "stability", "key_work",
    "needy_employee", "petition", "project_aid", "aid_pairing",
]  # fmt: skip
OBJECTS = [o.value for o in Obj] + [ledger_object(k) for k in LEDGERS]
# A small tree: county 1; townships 2 and 3; villages 4, 5 under 2; group 6 under 4.
PATHS = [
    "/00000001/",
    "/00000001/00000002/",
    "/00000001/00000003/",
    "/00000001/00000002/00000004/",
    "/00000001/00000002/00000005/",
    "/00000001/00000002/00000004/00000006/",
]


def test_collapse_drops_nested_grants_and_stray_denials() -> None:
    scope = Scope.of(
        [Grant("/00000001/00000002/"), Grant("/00000001/00000002/00000004/"), Grant("/00000009/")],
        ["/00000001/00000002/00000005/", "/00000007/"],
    )
    assert scope.grants == (Grant("/00000001/00000002/"), Grant("/00000009/"))
    assert scope.denied == ("/00000001/00000002/00000005/",)
    assert scope.admits("/00000001/00000002/00000004/")
    assert not scope.admits("/00000001/00000002/00000005/00000008/")
    assert not scope.covers("/00000001/00000002/")
    assert scope.covers("/00000001/00000002/00000004/")


def test_a_department_grant_admits_only_its_department() -> None:
    scope = Scope.of([Grant("/00000001/", 7)], [])
    assert scope.admits("/00000001/00000002/", 7)
    assert not scope.admits("/00000001/00000002/", 8)
    assert not scope.admits("/00000001/00000002/", None)
    assert not scope.covers("/00000001/")


def test_empty_scope_admits_nothing() -> None:
    assert Scope.of([], ["/00000001/"]).empty
    assert not Scope().admits("/00000001/")


def reference(assignments: list[tuple[str, str]]) -> Any:
    """Casbin with the assignments as g lines: the truth our scopes must match."""
    enforcer = new_enforcer(RULES)
    enforcer.add_named_domain_matching_func("g", key_match)
    for role, path in assignments:
        enforcer.add_grouping_policy("someone", role, path + "*")
    return enforcer


# Every role alone, and some pairs (where a deny of one carves out the other's allow).
HOLDINGS = [[(role.value, PATHS[1])] for role in Role] + [
    [("township_leader", PATHS[1]), ("village_cadre", PATHS[3])],
    [("county_leader", PATHS[0]), ("guidance_member", PATHS[2])],
    [("village_secretary", PATHS[3]), ("township_cadre", PATHS[1])],
    [("group_head", PATHS[5]), ("reporting_tool", PATHS[0])],
]


@pytest.mark.parametrize("holding", HOLDINGS, ids=lambda h: "+".join(r for r, _ in h))
def test_scopes_agree_with_casbin_enforce_on_every_path(holding: list[tuple[str, str]]) -> None:
    enforcer = reference(holding)
    assignments = [Assignment(role, path) for role, path in holding]
    wrong = []
    for obj, act, path in itertools.product(OBJECTS, Act, PATHS):
        ours = AUTHORIZER.scope(assignments, obj, act).admits(path)
        theirs = enforcer.enforce("someone", path, obj, act.value)
        if ours != theirs:
            wrong.append((obj, act.value, path, ours, theirs))
    assert wrong == []
