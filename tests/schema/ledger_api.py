"""GraphQL documents and helpers for the ledger tests."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.helpers import Tree, global_id, gql

ITEM_FIELDS = """
  id ledger category title status version deadline deadlineProvisional receivedOn
  method plan resolution escalatedTo declineReason closedOn satisfaction reasons
  area { id name } department { name } household { id }
  receivedBy { id } responsible { id }
  history { action fromStatus toStatus occurredOn note actor { id } }
"""

PAYLOAD = f"""
  replayed
  item {{ {ITEM_FIELDS} }}
  errors {{ __typename ... on UserError {{ code field message }} }}
"""

RECORD = f"""
mutation ($input: RecordLedgerItemInput!) {{ recordLedgerItem(input: $input) {{ {PAYLOAD} }} }}
"""

MUTATIONS = {
    "assign": ("assignLedgerItem", "AssignLedgerItemInput"),
    "resolve_on_the_spot": ("resolveLedgerItemOnTheSpot", "LedgerItemActionInput"),
    "make_plan": ("makeLedgerItemPlan", "MakeLedgerItemPlanInput"),
    "complete": ("completeLedgerItem", "LedgerItemActionInput"),
    "escalate": ("escalateLedgerItem", "EscalateLedgerItemInput"),
    "decline": ("declineLedgerItem", "DeclineLedgerItemInput"),
    "rate": ("rateLedgerItem", "RateLedgerItemInput"),
}

_keys = itertools.count(1)


def new_key() -> str:
    return f"test-key-{next(_keys):06d}"


def item_input(tree: Tree, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "ledger": "livelihood",
        "category": "water",
        "title": "三组饮水管道破裂",
        "description": "全组二十户停水",
        "areaId": global_id("Area", tree.village_id),
        "householdId": global_id("Household", tree.household_id),
        "receivedOn": "2014-01-23",
        "receivedById": global_id("Cadre", tree.cadre_id),
        "idempotencyKey": new_key(),
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def record_item(client: httpx.AsyncClient, values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, RECORD, {"input": values}))["recordLedgerItem"]
    return result


def action_extras(tree: Tree, action: str) -> dict[str, Any]:
    """The action-specific input that makes each action well-formed."""
    return {
        "assign": {
            "responsibleId": global_id("Cadre", tree.other_cadre_id),
            "method": "协调水务站",
        },
        "make_plan": {"plan": "更换主管道", "dueOn": "2014-03-31"},
        "escalate": {"toAreaId": global_id("Area", tree.township_id)},
        "decline": {"reason": "不属于政策支持范围"},
        "rate": {"satisfaction": "SATISFIED"},
    }.get(action, {})


async def act(
    client: httpx.AsyncClient,
    tree: Tree,
    action: str,
    item_id: str,
    *,
    on: str = "2014-02-12",
    **extras: Any,
) -> dict[str, Any]:
    field, input_type = MUTATIONS[action]
    document = f"""
    mutation ($input: {input_type}!) {{ {field}(input: $input) {{ {PAYLOAD} }} }}
    """
    values = {
        "itemId": item_id,
        "actorId": global_id("Cadre", tree.cadre_id),
        "on": on,
        "idempotencyKey": new_key(),
        **action_extras(tree, action),
        **extras,
    }
    result: dict[str, Any] = (await gql(client, document, {"input": values}))[field]
    return result


# How to bring a new item to each status, through the API.
PATHS: dict[str, list[str]] = {
    "RECEIVED": [],
    "ASSIGNED": ["assign"],
    "PLANNED": ["assign", "make_plan"],
    "ESCALATED": ["escalate"],
    "RESOLVED": ["resolve_on_the_spot"],
    "DECLINED": ["decline"],
}


async def item_in(client: httpx.AsyncClient, tree: Tree, status: str) -> dict[str, Any]:
    payload = await record_item(client, item_input(tree))
    item: dict[str, Any] = payload["item"]
    for action in PATHS[status]:
        result = await act(client, tree, action, item["id"], on="2014-02-10")
        assert result["errors"] == [], result["errors"]
        item = result["item"]
    assert item["status"] == status
    return item
