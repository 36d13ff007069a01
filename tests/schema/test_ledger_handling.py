"""Every legal and illegal handling transition, through the API, on both databases."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.ledgers import Action, Status
from resolvers.ledgers.handling import ALLOWED_FROM
from tests.helpers import Tree, global_id, gql, make_tree
from tests.schema.ledger_api import PATHS, act, item_in, item_input, record_item

CASES = [
    (action.value, status.value.upper(), status in allowed)
    for action, allowed in ALLOWED_FROM.items()
    for status in Status
]

EXPECTED_TARGET = {
    "assign": "ASSIGNED",
    "resolve_on_the_spot": "RESOLVED",
    "make_plan": "PLANNED",
    "complete": "RESOLVED",
    "escalate": "ESCALATED",
    "decline": "DECLINED",
}

ITEM_STATE = """
query ($id: ID!) { node(id: $id) { ... on LedgerItem {
  status version history { action } } } }
"""


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


async def _state(client: httpx.AsyncClient, item_id: str) -> dict[str, Any]:
    node: dict[str, Any] = (await gql(client, ITEM_STATE, {"id": item_id}))["node"]
    return node


def test_the_case_table_covers_every_action_and_status() -> None:
    assert {c[0] for c in CASES} == {a.value for a in Action} - {"receive", "import"}
    assert len(CASES) == 7 * len(Status)
    assert set(PATHS) == {s.value.upper() for s in Status}


@pytest.mark.parametrize(("action", "status", "legal"), CASES)
async def test_transition(
    client: httpx.AsyncClient, tree: Tree, action: str, status: str, legal: bool
) -> None:
    item = await item_in(client, tree, status)
    before = await _state(client, item["id"])
    result = await act(client, tree, action, item["id"])
    after = await _state(client, item["id"])
    if not legal:
        assert result["item"] is None
        assert [e["__typename"] for e in result["errors"]] == ["IllegalTransition"]
        assert status.lower() in result["errors"][0]["message"]
        assert after == before, "an illegal transition changed the item"
        return
    assert result["errors"] == []
    changed = result["item"]
    expected = EXPECTED_TARGET.get(action, status)  # rating keeps the closed status
    assert changed["status"] == expected
    assert changed["version"] == before["version"] + 1
    last = changed["history"][-1]
    assert last["action"] == action.upper()
    assert (last["fromStatus"], last["toStatus"]) == (status, expected)
    assert last["occurredOn"] == "2014-02-12"
    assert last["actor"]["id"] == global_id("Cadre", tree.cadre_id)
    assert len(after["history"]) == len(before["history"]) + 1


async def test_received_item_has_owner_deadline_and_history(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    payload = await record_item(client, item_input(tree))
    assert payload["errors"] == []
    item = payload["item"]
    assert item["status"] == "RECEIVED"
    assert item["deadline"] == "2014-02-11"  # ten working days across the Spring Festival
    assert item["deadlineProvisional"] is False
    assert item["receivedBy"]["id"] == global_id("Cadre", tree.cadre_id)
    assert item["history"] == [
        {
            "action": "RECEIVE",
            "fromStatus": None,
            "toStatus": "RECEIVED",
            "occurredOn": "2014-01-23",
            "note": "",
            "actor": {"id": global_id("Cadre", tree.cadre_id)},
        }
    ]


async def test_full_path_assign_plan_complete_rate(client: httpx.AsyncClient, tree: Tree) -> None:
    item = await item_in(client, tree, "PLANNED")
    assert item["responsible"]["id"] == global_id("Cadre", tree.other_cadre_id)
    assert item["method"] == "协调水务站" and item["plan"] == "更换主管道"
    assert item["deadline"] == "2014-03-31"  # the plan's date becomes the deadline
    done = (await act(client, tree, "complete", item["id"]))["item"]
    assert (done["status"], done["resolution"], done["closedOn"]) == (
        "RESOLVED",
        "BY_PLAN",
        "2014-02-12",
    )
    rated = await act(client, tree, "rate", item["id"], satisfaction="BASICALLY_SATISFIED")
    assert rated["item"]["satisfaction"] == "BASICALLY_SATISFIED"
    again = await act(client, tree, "rate", item["id"], satisfaction="SATISFIED")
    assert again["errors"][0]["__typename"] == "IllegalTransition"
    assert "already rated" in again["errors"][0]["message"]


async def test_dissatisfied_reopens_with_a_new_deadline(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    item = await item_in(client, tree, "ASSIGNED")
    closed = (await act(client, tree, "resolve_on_the_spot", item["id"]))["item"]
    assert closed["status"] == "RESOLVED"
    reopened = (
        await act(client, tree, "rate", item["id"], satisfaction="DISSATISFIED", on="2014-02-14")
    )["item"]
    assert reopened["status"] == "ASSIGNED"
    assert reopened["closedOn"] is None and reopened["resolution"] is None
    assert reopened["satisfaction"] is None
    assert reopened["deadline"] == "2014-02-28"  # ten working days from the rating
    assert [h["action"] for h in reopened["history"]][-2:] == ["RESOLVE_ON_THE_SPOT", "RATE"]
    # Solved before anyone was assigned: reopening returns it to its receiver.
    fresh = await item_in(client, tree, "RESOLVED")
    back = (await act(client, tree, "rate", fresh["id"], satisfaction="DISSATISFIED"))["item"]
    assert back["status"] == "RECEIVED"


async def test_escalation_moves_the_item_up_with_a_new_deadline(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    item = await item_in(client, tree, "ASSIGNED")
    up = (await act(client, tree, "escalate", item["id"], on="2014-02-12"))["item"]
    assert up["status"] == "ESCALATED"
    assert up["area"]["id"] == global_id("Area", tree.township_id)
    assert up["escalatedTo"] == "测试镇"
    assert up["deadline"] == "2014-02-26"
    to_department = await item_in(client, tree, "RECEIVED")
    moved = await act(
        client,
        tree,
        "escalate",
        to_department["id"],
        toAreaId=None,
        toDepartmentId=global_id("Department", tree.department_id),
    )
    assert moved["item"]["department"] == {"name": "县民政局"}
    assert moved["item"]["area"]["id"] == global_id("Area", tree.county_id)


@pytest.mark.parametrize(
    ("extras", "typename"),
    [
        ({"toAreaId": None}, "Required"),  # neither target
        ({"toDepartmentId": global_id("Department", 1)}, "Required"),  # both targets
        ({"toAreaId": global_id("Area", 99999)}, "UnknownArea"),
        ({"toAreaId": "garbage"}, "UnknownArea"),
    ],
)
async def test_escalation_needs_exactly_one_real_higher_body(
    client: httpx.AsyncClient, tree: Tree, extras: dict[str, Any], typename: str
) -> None:
    item = await item_in(client, tree, "RECEIVED")
    result = await act(client, tree, "escalate", item["id"], **extras)
    assert [e["__typename"] for e in result["errors"]] == [typename]


async def test_escalation_only_upwards(client: httpx.AsyncClient, tree: Tree) -> None:
    item = await item_in(client, tree, "RECEIVED")
    missing = await act(client, tree, "escalate", item["id"], toAreaId=global_id("Area", 99999))
    assert [e["__typename"] for e in missing["errors"]] == ["UnknownArea"]
    for target in (tree.village_id, tree.group_id, tree.other_group_id):
        result = await act(client, tree, "escalate", item["id"], toAreaId=global_id("Area", target))
        # Not above the item answers exactly like no such area (the lookup is unscoped).
        assert result["errors"] == missing["errors"]


@pytest.mark.parametrize(
    ("action", "extras", "typename", "field"),
    [
        ("assign", {"method": "  "}, "Required", "method"),
        ("assign", {"responsibleId": global_id("Cadre", 99999)}, "UnknownCadre", "responsibleId"),
        ("decline", {"reason": ""}, "Required", "reason"),
        ("assign", {"on": "2014-01-01"}, "DateTooEarly", "on"),
        ("assign", {"on": "2999-01-01"}, "DateInFuture", "on"),
        ("assign", {"actorId": global_id("Cadre", 99999)}, "UnknownCadre", "actorId"),
        ("assign", {"itemId": global_id("LedgerItem", 99999)}, "UnknownLedgerItem", "itemId"),
        ("assign", {"note": "长" * 5001}, "TextTooLong", "note"),
    ],
)
async def test_bad_action_input_is_typed_and_changes_nothing(
    client: httpx.AsyncClient,
    tree: Tree,
    action: str,
    extras: dict[str, Any],
    typename: str,
    field: str,
) -> None:
    item = await item_in(client, tree, "RECEIVED")
    before = await _state(client, item["id"])
    result = await act(client, tree, action, item["id"], **extras)
    assert [(e["__typename"], e["field"]) for e in result["errors"]] == [(typename, field)]
    assert await _state(client, item["id"]) == before


async def test_a_replayed_action_applies_once(client: httpx.AsyncClient, tree: Tree) -> None:
    item = await item_in(client, tree, "RECEIVED")
    first = await act(client, tree, "assign", item["id"], idempotencyKey="assign-once-1")
    again = await act(client, tree, "assign", item["id"], idempotencyKey="assign-once-1")
    assert again["replayed"] is True and again["item"]["version"] == first["item"]["version"]
    assert len((await _state(client, item["id"]))["history"]) == 2
