"""Twins: every mutation that takes an idempotency key, sent twice at once with one key,
answers both with the same success (one of them ``replayed``) and writes once.

The mutations are read from the schema; a new keyed mutation fails this suite until
it has a case.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from graphql import GraphQLInputObjectType, get_named_type
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.ledgers.sheets import COLUMNS, write_xlsx
from schema.root import schema
from tests.helpers import Tree, global_id, make_tree
from tests.schema.ledger_api import PAYLOAD, item_in, new_key

ROUNDS = 3  # each round a fresh key (and, for handling, a fresh item)


def keyed_mutations() -> set[str]:
    """Mutations with an ``idempotencyKey`` argument or input field."""
    found = set()
    for name, field in schema._schema.mutation_type.fields.items():  # type: ignore[union-attr]
        for arg_name, arg in field.args.items():
            named = get_named_type(arg.type)
            if arg_name == "idempotencyKey" or (
                isinstance(named, GraphQLInputObjectType) and "idempotencyKey" in named.fields
            ):
                found.add(name)
    return found


ERRORS = "errors { __typename ... on UserError { code field message } }"


@dataclasses.dataclass(frozen=True)
class Twin:
    """A request builder (given a fresh key, after any setup) and what counts its writes."""

    document: str
    variables: Callable[[Tree, httpx.AsyncClient, str], Awaitable[dict[str, Any]]]
    writes: str  # SQL counting the rows one write adds


def ids(tree: Tree) -> dict[str, str]:
    return {
        "household": global_id("Household", tree.household_id),
        "cadre": global_id("Cadre", tree.cadre_id),
        "village": global_id("Area", tree.village_id),
        "township": global_id("Area", tree.township_id),
    }


async def visit(tree: Tree, _c: httpx.AsyncClient, key: str) -> dict[str, Any]:
    i = ids(tree)
    return {
        "i": {
            "householdId": i["household"],
            "cadreId": i["cadre"],
            "visitedOn": "2014-01-23",
            "idempotencyKey": key,
        }
    }


async def visits(tree: Tree, _c: httpx.AsyncClient, key: str) -> dict[str, Any]:
    one = (await visit(tree, _c, key))["i"]
    del one["idempotencyKey"]
    return {"v": [one, {**one, "visitedOn": "2014-01-24"}], "k": key}


async def meeting(tree: Tree, _c: httpx.AsyncClient, key: str) -> dict[str, Any]:
    i = ids(tree)
    return {
        "i": {
            "areaId": i["village"],
            "heldOn": "2014-01-22",
            "hostCadreId": i["cadre"],
            "attendeeCount": 9,
            "topic": "议事",
            "suggestions": ["修路"],
            "idempotencyKey": key,
        }
    }


async def suggestion(tree: Tree, client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    body = await _post(client, RECORD_MEETING, await meeting(tree, client, new_key()))
    meeting_id = body["data"]["recordMeeting"]["meeting"]["id"]
    return {"i": {"meetingId": meeting_id, "content": "装路灯", "idempotencyKey": key}}


async def ledger_item(tree: Tree, _c: httpx.AsyncClient, key: str) -> dict[str, Any]:
    i = ids(tree)
    return {
        "i": {
            "ledger": "livelihood",
            "category": "water",
            "title": "饮水",
            "areaId": i["village"],
            "householdId": i["household"],
            "receivedOn": "2014-01-23",
            "receivedById": i["cadre"],
            "idempotencyKey": key,
        }
    }


def transition(status: str, **extra: Any) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def variables(tree: Tree, client: httpx.AsyncClient, key: str) -> dict[str, Any]:
        item = await item_in(client, tree, status)
        resolved = {k: (ids(tree)[v] if k.endswith("Id") else v) for k, v in extra.items()}
        return {
            "i": {
                "itemId": item["id"],
                "actorId": ids(tree)["cadre"],
                "on": "2014-02-12",
                "idempotencyKey": key,
                **resolved,
            }
        }

    return variables


async def sheet(tree: Tree, _c: httpx.AsyncClient, key: str) -> dict[str, Any]:
    values = {
        "ledger": "livelihood",
        "category": "water",
        "area_code": "519902101001",
        "title": "饮水",
        "received_on": "2014-01-23",
        "received_by": "李四",
    }
    row = [values.get(column.key, "") for column in COLUMNS]
    content = base64.b64encode(write_xlsx([row])).decode()
    return {
        "i": {
            "villageId": ids(tree)["village"],
            "fileName": "x.xlsx",
            "content": content,
            "idempotencyKey": key,
        }
    }


def one(field: str, input_type: str, selection: str) -> str:
    return f"""mutation ($i: {input_type}!) {{ {field}(input: $i) {{ replayed {selection} }} }}"""


RECORD_MEETING = one("recordMeeting", "RecordMeetingInput", f"meeting {{ id }} {ERRORS}")
EVENTS = "SELECT count(*) FROM ledger_item_event"

TWINS: dict[str, Twin] = {
    "recordVisit": Twin(
        one("recordVisit", "RecordVisitInput", f"visit {{ id visitedOn }} {ERRORS}"),
        visit,
        "SELECT count(*) FROM visit",
    ),
    "recordVisits": Twin(
        f"""mutation ($v: [BatchVisitInput!]!, $k: String!) {{
          recordVisits(visits: $v, idempotencyKey: $k) {{ replayed recorded {ERRORS} }} }}""",
        visits,
        "SELECT count(*) FROM visit",
    ),
    "recordMeeting": Twin(RECORD_MEETING, meeting, "SELECT count(*) FROM meeting"),
    "addSuggestion": Twin(
        one("addSuggestion", "AddSuggestionInput", f"suggestion {{ id content }} {ERRORS}"),
        suggestion,
        "SELECT count(*) FROM suggestion",
    ),
    "recordLedgerItem": Twin(
        f"""mutation ($i: RecordLedgerItemInput!) {{ recordLedgerItem(input: $i) {{
          {PAYLOAD} }} }}""",
        ledger_item,
        "SELECT count(*) FROM ledger_item",
    ),
    **{
        field: Twin(
            f"""mutation ($i: {input_type}!) {{ {field}(input: $i) {{ {PAYLOAD} }} }}""",
            variables,
            EVENTS,
        )
        for field, input_type, variables in (
            (
                "assignLedgerItem",
                "AssignLedgerItemInput",
                transition("RECEIVED", responsibleId="cadre", method="上门"),
            ),
            ("resolveLedgerItemOnTheSpot", "LedgerItemActionInput", transition("RECEIVED")),
            ("makeLedgerItemPlan", "MakeLedgerItemPlanInput", transition("ASSIGNED", plan="换管")),
            ("completeLedgerItem", "LedgerItemActionInput", transition("PLANNED")),
            (
                "escalateLedgerItem",
                "EscalateLedgerItemInput",
                transition("RECEIVED", toAreaId="township"),
            ),
            ("declineLedgerItem", "DeclineLedgerItemInput", transition("RECEIVED", reason="不符")),
            (
                "rateLedgerItem",
                "RateLedgerItemInput",
                transition("RESOLVED", satisfaction="SATISFIED"),
            ),
        )
    },
    "importLedger": Twin(
        one("importLedger", "ImportLedgerInput", f"imported rowErrors {{ row }} {ERRORS}"),
        sheet,
        "SELECT count(*) FROM ledger_item",
    ),
}


async def _post(client: httpx.AsyncClient, document: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def _count(sessionmaker: async_sessionmaker[AsyncSession], sql: str) -> int:
    async with sessionmaker() as session:
        return int((await session.scalar(text(sql))) or 0)


def test_every_keyed_mutation_has_a_twin_case() -> None:
    assert keyed_mutations() == set(TWINS)


def _without_replayed(body: Any) -> tuple[Any, bool]:
    (payload,) = body["data"].values()
    rest = {k: v for k, v in payload.items() if k != "replayed"}
    return rest, payload["replayed"]


@pytest.mark.parametrize("name", sorted(TWINS))
async def test_twins_replay(
    name: str, client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tree = await make_tree(sessionmaker)
    twin = TWINS[name]
    for _ in range(ROUNDS):
        key = new_key()
        variables = await twin.variables(tree, client, key)
        before = await _count(sessionmaker, twin.writes)
        first, second = await asyncio.gather(
            _post(client, twin.document, variables), _post(client, twin.document, variables)
        )
        assert "errors" not in first and "errors" not in second, (first, second)
        (a, a_replayed), (b, b_replayed) = _without_replayed(first), _without_replayed(second)
        assert a.get("errors") == [] and b.get("errors") == [], (first, second)
        assert a == b, (first, second)
        assert sorted([a_replayed, b_replayed]) == [False, True], (first, second)
        added = await _count(sessionmaker, twin.writes) - before
        expected = 2 if name == "recordVisits" else 1
        assert added == expected, f"{name}: {added} rows written, one write expected"
        keys = await _count(
            sessionmaker, f"SELECT count(*) FROM idempotency_key WHERE key = '{key}'"
        )
        assert keys == 1
