"""How test_id_arguments asks: a case per argument that names an object, and the builders
of its requests (the table of cases is ``id_case_table``)."""

from __future__ import annotations

import base64
import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

from resolvers.ledgers.sheets import write_xlsx
from tests.helpers import global_id

MADE_UP = 999_999
USER_ERRORS = "errors { __typename ... on UserError { code field message } }"

_serial = itertools.count(1)


def key() -> str:
    return f"id-arg-{next(_serial):08d}"


# -- the cases ------------------------------------------------------------------------

Request = tuple[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Case:
    """How to ask with one value in the argument, as whom, and with which values.

    ``outside`` are real objects outside the user's scope (names in the world, or
    literal values), each answered as ``made_up`` is; ``inside`` is a real object in
    scope, whose answer must differ (so the case does reach the argument).
    """

    user: str
    ask: Callable[[Any], Request]
    inside: str
    outside: tuple[str, ...]
    made_up: str


def mutation(
    field: str, input_type: str, selection: str, base: Callable[[], dict[str, Any]]
) -> Callable[[str], Callable[[Any], Request]]:
    """A mutation taking ``input``; the argument under test is set by the case."""

    def build(field_name: str) -> Callable[[Any], Request]:
        def ask(value: Any) -> Request:
            document = f"""mutation ($i: {input_type}!) {{ {field}(input: $i) {{
              {selection} {USER_ERRORS} }} }}"""
            return document, {"i": {**base(), field_name: value, "idempotencyKey": key()}}

        return ask

    return build


def made_up(type_name: str) -> str:
    return global_id(type_name, MADE_UP)


# Filled per world: the ids are known only then; cases name them and resolve late.
W: dict[str, str] = {}


def ref(name: str) -> str:
    return W[name]


def visit_base() -> dict[str, Any]:
    return {"householdId": ref("H1"), "cadreId": ref("K1"), "visitedOn": "2014-01-23"}


def meeting_base() -> dict[str, Any]:
    return {
        "areaId": ref("V1"),
        "heldOn": "2014-01-22",
        "hostCadreId": ref("K1"),
        "attendeeCount": 8,
        "topic": "议事",
    }


def item_base() -> dict[str, Any]:
    return {
        "ledger": "livelihood",
        "category": "water",
        "title": "饮水",
        "areaId": ref("V1"),
        "householdId": ref("H1"),
        "receivedOn": "2014-01-23",
        "receivedById": ref("K1"),
    }


def department_item_base() -> dict[str, Any]:
    return {
        "ledger": "key_work",
        "category": "service_style",
        "title": "窗口作风",
        "receivedOn": "2014-01-23",
        "receivedById": ref("K1"),
        "departmentId": ref("D1"),
    }


def action_base(extra: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: {"itemId": ref("I1"), "actorId": ref("K1"), "on": "2014-01-27", **extra}


ITEM = "replayed item { id status }"
ACTIONS = {
    "LedgerItemActionInput": ("resolveLedgerItemOnTheSpot", {}),
    "AssignLedgerItemInput": ("assignLedgerItem", {"responsibleId": "K1", "method": "上门"}),
    "MakeLedgerItemPlanInput": ("makeLedgerItemPlan", {"plan": "换管"}),
    "EscalateLedgerItemInput": ("escalateLedgerItem", {"toAreaId": "T1"}),
    "DeclineLedgerItemInput": ("declineLedgerItem", {"reason": "不符合政策"}),
    "RateLedgerItemInput": ("rateLedgerItem", {"satisfaction": "SATISFIED"}),
}


def _action(input_type: str) -> Callable[[str], Callable[[Any], Request]]:
    field, extra = ACTIONS[input_type]

    def base() -> dict[str, Any]:
        resolved = {k: (ref(v) if k.endswith("Id") else v) for k, v in extra.items()}
        return action_base(resolved)()

    return mutation(field, input_type, ITEM, base)


def query(document: str, variable: str = "v") -> Callable[[Any], Request]:
    return lambda value: (document, {variable: value})


V1_LEDGER = """query ($f: LedgerItemFilter) { area(code: "519902101001") {
  ledgerItems(filter: $f, first: 50) { totalCount partial edges { node { id } } }
  ledgerMatrix(filter: $f) { ledger category status count } } }"""


def ledger_filter(field: str) -> Callable[[Any], Request]:
    return lambda value: (V1_LEDGER, {"f": {field: value}})


def sheet() -> str:
    return base64.b64encode(write_xlsx([])).decode()


def user_mutation(document: str, **fixed: Any) -> Callable[[str], Callable[[Any], Request]]:
    def build(arg: str) -> Callable[[Any], Request]:
        def ask(value: Any) -> Request:
            values = {k: (ref(v) if k in ("area", "department") else v) for k, v in fixed.items()}
            return document, {**values, "username": values.get("username") or key(), arg: value}

        return ask

    return build


GRANT = f"""mutation ($username: String!, $area: ID!, $department: ID) {{
  grantRole(username: $username, role: "village_cadre", area: $area, department: $department) {{
    changed {USER_ERRORS} }} }}"""
REVOKE = f"""mutation ($username: String!, $area: ID!) {{
  revokeRole(username: $username, role: "village_cadre", area: $area) {{
    changed {USER_ERRORS} }} }}"""
CREATE_USER = f"""mutation ($username: String!, $cadreId: ID) {{
  createUser(username: $username, cadreId: $cadreId) {{ username {USER_ERRORS} }} }}"""
NODE = """query ($v: ID!) { node(id: $v) { __typename id } }"""
NODE_CASES = [  # inside, outside, their type
    ("V1", ("V2", "T2", "V3"), "Area"),
    ("H1", ("H2", "H3"), "Household"),
    ("K1", ("KT1", "K3"), "Cadre"),
    ("D1", ("D2",), "Department"),
    ("VS1", ("VS2",), "Visit"),
    ("M1", ("M2",), "Meeting"),
    ("S1", ("S2",), "Suggestion"),
    ("I1", ("I2", "IS1"), "LedgerItem"),
]
