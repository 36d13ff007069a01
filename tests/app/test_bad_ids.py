"""Bad input, continued: foreign ids — of another type, garbage, or of a row outside the
caller's scope, answered exactly like a missing row (see test_bad_input)."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest

from tests.app.bad_input_support import *
from tests.app.bad_input_values import *
from tests.helpers import TESTER, global_id

# -- foreign ids ----------------------------------------------------------------------------


async def test_an_id_of_another_type_names_nothing(seeded: World) -> None:
    visit = seeded.ids["visit"]
    body = await seeded.gql(TESTER, RECORD_VISIT, {"input": visit_input(seeded, householdId=visit)})
    assert body["data"] == refused_visit("UNKNOWN_HOUSEHOLD", "householdId")
    body = await seeded.gql(TESTER, RECORD_VISIT, {"input": visit_input(seeded, cadreId=visit)})
    assert body["data"] == refused_visit("UNKNOWN_CADRE", "cadreId")
    # node() takes the type from the id: a Visit id finds the visit, never a household.
    query = "query Household($id: ID!) { node(id: $id) { __typename ... on Household { number } } }"
    body = await seeded.gql(TESTER, query, {"id": visit})
    assert body == {"data": {"node": {"__typename": "Visit"}}}
    assert await seeded.gql(TESTER, AREAS_UNDER, {"under": visit}) == {"data": {"areas": []}}


GARBAGE_IDS = [
    "!!!",
    "",
    " ",
    "Zm9v",  # "foo"
    "Household:1",
    b64("Household:"),
    b64("Household:abc"),
    b64("Household:-1"),
    b64("Household:+1"),
    b64("Household:0"),
    b64("Household: 1"),
    b64("Household:1 "),
    b64("Household:1.0"),
    b64(f"Household:{2**31}"),
    b64(f"Household:{10**30}"),
    b64("Household:1:1"),
    b64("Nope:1"),
    base64.b64encode(b"\xff\xfe:1").decode(),
    # "\x00" is refused with the whole request: test_nul_characters_in_variables_refuse_the_request
    "长" * 100,
]


async def test_a_garbage_id_names_nothing(world: World, subtests: pytest.Subtests) -> None:
    for garbage in GARBAGE_IDS:
        with subtests.test(id=garbage):
            body = await world.gql(
                TESTER, RECORD_VISIT, {"input": visit_input(world, householdId=garbage)}
            )
            assert body["data"] == refused_visit("UNKNOWN_HOUSEHOLD", "householdId")
            assert await world.gql(TESTER, NODE, {"id": garbage}) == {"data": {"node": None}}
            found = await world.gql(TESTER, NODES, {"ids": [garbage, garbage]})
            assert found == {"data": {"nodes": [None, None]}}
            assert await world.gql(TESTER, AREAS_UNDER, {"under": garbage}) == {
                "data": {"areas": []}
            }


async def _visit_to(world: World, household_ids: list[str]) -> list[str]:
    """Problems with recordVisit for each household id, expected to name nothing."""
    problems = []
    for value in household_ids:
        body = {
            "query": RECORD_VISIT,
            "variables": {"input": visit_input(world, householdId=value)},
        }
        response = await world.post(TESTER, body)
        try:
            found = handled(response, body)
            assert found["data"] == refused_visit("UNKNOWN_HOUSEHOLD", "householdId"), found
        except AssertionError as error:
            problems.append(f"{base64.b64decode(value).decode()}: {error}")
    return problems


async def test_an_id_with_a_superscript_digit_names_nothing(world: World) -> None:
    problems = await _visit_to(world, [b64("Household:²"), b64("Household:1²")])
    assert not problems, "\n".join(problems)


async def test_an_id_with_non_ascii_digits_names_nothing(world: World) -> None:
    problems = await _visit_to(world, [b64(f"Household:{digit}") for digit in "１١𝟏१"])
    assert not problems, "\n".join(problems)


# -- ids outside the caller's scope -----------------------------------------------------------

MISSING = 999_999


def _strip(body: object, values: list[str]) -> object:
    """The body with each of ``values`` replaced by a placeholder, to compare two answers."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    for value in values:
        text = text.replace(json.dumps(value)[1:-1], "<id>")
    return json.loads(text)


def _fill(value: object, replacements: dict[str, str]) -> object:
    if isinstance(value, str):
        return replacements.get(value, value)
    if isinstance(value, list):
        return [_fill(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, replacements) for key, item in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class ScopeCase:
    """A request about one id (``{id}``), made with an outside-scope id and a missing one."""

    name: str
    type_name: str
    row: str  # a Tree attribute or a key of World.ids: the row outside the caller's scope
    query: str
    variables: dict[str, Any]


def _input_case(
    name: str, type_name: str, row: str, mutation: str, payload: str, **fields: Any
) -> ScopeCase:
    """A case of a mutation taking ``input``, whose payload's object is ``payload``."""
    input_type = mutation[0].upper() + mutation[1:] + "Input"
    if mutation in ("resolveLedgerItemOnTheSpot", "completeLedgerItem"):
        input_type = "LedgerItemActionInput"
    query = f"""
    mutation Scope($input: {input_type}!) {{
      {mutation}(input: $input) {{
        {payload} {{ id }} errors {{ ... on UserError {{ code field message }} }}
      }}
    }}"""
    variables = {"input": {"idempotencyKey": "{key}", **fields}}
    return ScopeCase(name, type_name, row, query, variables)


ITEM = {
    "ledger": "livelihood",
    "category": "road",
    "title": "t",
    "receivedOn": "2014-01-10",
    "receivedById": "{cadre}",
}
ACTION = {"itemId": "{item}", "actorId": "{cadre}"}
HOUSEHOLD_VISITS = """
query Visits($id: ID!) { node(id: $id) { ... on Household { visits { edges { cursor } } } } }"""
CAN = 'query Can($area: ID) { me { can(action: "visit.write", area: $area) } }'
SCOPE_CASES = [
    *[
        ScopeCase(f"node {type_name}", type_name, row, NODE, {"id": "{id}"})
        for type_name, row in [
            ("Household", "other_household_id"),
            ("Area", "other_group_id"),
            ("Visit", "other_visit"),
            ("Meeting", "other_meeting"),
            ("Suggestion", "other_suggestion"),
            ("LedgerItem", "other_item"),
        ]
    ],
    ScopeCase("nodes", "Household", "other_household_id", NODES, {"ids": ["{id}"]}),
    ScopeCase("areas under", "Area", "other_group_id", AREAS_UNDER, {"under": "{id}"}),
    ScopeCase("me.can at area", "Area", "other_group_id", CAN, {"area": "{id}"}),
    ScopeCase("visits of", "Household", "other_household_id", HOUSEHOLD_VISITS, {"id": "{id}"}),
    _input_case(
        "recordVisit householdId", "Household", "other_household_id", "recordVisit", "visit",
        householdId="{id}", cadreId="{cadre}", visitedOn="2014-01-10",
    ),
    _input_case(
        "recordMeeting areaId", "Area", "other_group_id", "recordMeeting", "meeting",
        areaId="{id}", heldOn="2014-01-10", hostCadreId="{cadre}", attendeeCount=3, topic="t",
    ),
    _input_case(
        "addSuggestion meetingId", "Meeting", "other_meeting", "addSuggestion", "suggestion",
        meetingId="{id}", content="c",
    ),
    _input_case(
        "addSuggestion householdId", "Household", "other_household_id", "addSuggestion",
        "suggestion", meetingId="{meeting}", content="c", householdId="{id}",
    ),
    _input_case(
        "recordLedgerItem areaId", "Area", "other_group_id", "recordLedgerItem", "item",
        areaId="{id}", **ITEM,
    ),
    _input_case(
        "recordLedgerItem householdId", "Household", "other_household_id", "recordLedgerItem",
        "item", areaId="{village}", householdId="{id}", **ITEM,
    ),
    _input_case(
        "recordLedgerItem sourceVisitId", "Visit", "other_visit", "recordLedgerItem", "item",
        areaId="{village}", sourceVisitId="{id}", **ITEM,
    ),
    _input_case(
        "recordLedgerItem sourceMeetingId", "Meeting", "other_meeting", "recordLedgerItem",
        "item", areaId="{village}", sourceMeetingId="{id}", **ITEM,
    ),
    _input_case(
        "assignLedgerItem itemId", "LedgerItem", "other_item", "assignLedgerItem", "item",
        itemId="{id}", actorId="{cadre}", responsibleId="{cadre}", method="m",
    ),
    _input_case(
        "resolveLedgerItemOnTheSpot itemId", "LedgerItem", "other_item",
        "resolveLedgerItemOnTheSpot", "item", itemId="{id}", actorId="{cadre}",
    ),
    _input_case(
        "assignLedgerItem responsibleId", "Cadre", "other_cadre_id", "assignLedgerItem", "item",
        responsibleId="{id}", method="m", **ACTION,
    ),
]  # fmt: skip
ESCALATION = _input_case(
    "escalateLedgerItem toAreaId", "Area", "other_group_id", "escalateLedgerItem", "item",
    toAreaId="{id}", **ACTION,
)  # fmt: skip


async def _outside_and_missing(world: World, case: ScopeCase) -> list[object]:
    """The answers to ``case`` with the outside-scope id and with a missing one, ids stripped."""
    tree = world.tree
    if case.row in world.ids:
        outside = world.ids[case.row]
    else:
        outside = global_id(case.type_name, getattr(tree, case.row))
    # The row is there: someone who may see it finds it.
    seen = await world.gql(TESTER, NODE, {"id": outside})
    assert seen["data"]["node"] is not None, (case.name, seen)
    answers = []
    for n, value in enumerate([outside, global_id(case.type_name, MISSING)]):
        key = f"scope-key-{case.name.replace(' ', '-')}-{n}"
        replacements = {
            "{id}": value,
            "{key}": key,
            "{cadre}": global_id("Cadre", tree.cadre_id),
            "{village}": global_id("Area", tree.village_id),
            "{item}": world.ids["item"],
            "{meeting}": world.ids["meeting"],
        }
        variables = _fill(case.variables, replacements)
        assert isinstance(variables, dict)
        body = await world.gql(SCOPED, case.query, variables)
        answers.append(_strip(body, [value, key]))
    return answers


async def test_an_id_outside_the_callers_scope_answers_like_a_missing_one(
    seeded: World, subtests: pytest.Subtests
) -> None:
    for case in SCOPE_CASES:
        with subtests.test(case.name):
            outside, missing = await _outside_and_missing(seeded, case)
            assert outside == missing


async def test_an_escalation_target_outside_the_callers_scope_answers_like_a_missing_one(
    seeded: World,
) -> None:
    outside, missing = await _outside_and_missing(seeded, ESCALATION)
    assert outside == missing


async def test_a_code_outside_the_callers_scope_answers_like_a_missing_one(world: World) -> None:
    query = "query Area($code: String!) { area(code: $code) { id name } }"
    outside = await world.gql(SCOPED, query, {"code": "519902101002"})
    missing = await world.gql(SCOPED, query, {"code": "519902101999"})
    assert outside == missing == {"data": {"area": None}}
    inside = await world.gql(SCOPED, query, {"code": "519902101001"})
    assert inside["data"]["area"] is not None


async def test_an_action_naming_no_object_is_never_allowed(world: World) -> None:
    """`ledger.*` matches any ledger in the policy; an action must name a real one."""
    query = "query Q($a: String!) { me { can(action: $a) } }"
    for action in ("ledger.nope.read", "ledger..read", "ledger.*.read", "nothing.read"):
        assert await world.gql(TESTER, query, {"a": action}) == {"data": {"me": {"can": False}}}
    assert await world.gql(TESTER, query, {"a": "ledger.stability.read"}) == {
        "data": {"me": {"can": True}}
    }
