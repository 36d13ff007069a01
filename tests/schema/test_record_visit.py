"""``recordVisit`` over HTTP: success, replays, every typed error, and races."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import IdempotencyKey, Visit
from tests.helpers import Tree, global_id, gql, make_tree

RECORD_VISIT = """
mutation ($input: RecordVisitInput!) {
  recordVisit(input: $input) {
    replayed
    visit { id visitedOn notes household { id } cadre { id } }
    errors { __typename ... on UserError { code field message } }
  }
}
"""

TODAY = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


def visit_input(tree: Tree, **overrides: Any) -> dict[str, Any]:
    values = {
        "householdId": global_id("Household", tree.household_id),
        "cadreId": global_id("Cadre", tree.cadre_id),
        "visitedOn": "2014-01-23",
        "notes": "反映饮水不便",
        "idempotencyKey": "key-0001",
    }
    return values | overrides


async def record(client: httpx.AsyncClient, values: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql(client, RECORD_VISIT, {"input": values}))["recordVisit"]
    return payload


async def count_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessionmaker() as session:
        visits = await session.scalar(select(func.count()).select_from(Visit))
        keys = await session.scalar(select(func.count()).select_from(IdempotencyKey))
    return visits or 0, keys or 0


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


async def test_records_a_visit(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    payload = await record(client, visit_input(tree))
    assert payload["errors"] == [] and payload["replayed"] is False
    visit = payload["visit"]
    assert visit["visitedOn"] == "2014-01-23" and visit["notes"] == "反映饮水不便"
    assert visit["household"]["id"] == global_id("Household", tree.household_id)
    assert visit["cadre"]["id"] == global_id("Cadre", tree.cadre_id)
    assert await count_rows(sessionmaker) == (1, 1)
    node = await gql(client, "query ($id: ID!) { node(id: $id) { id } }", {"id": visit["id"]})
    assert node["node"]["id"] == visit["id"]


async def test_today_is_not_the_future(client: httpx.AsyncClient, tree: Tree) -> None:
    payload = await record(client, visit_input(tree, visitedOn=TODAY.isoformat()))
    assert payload["errors"] == []


async def test_same_key_again_returns_the_first_result_and_writes_nothing(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    first = await record(client, visit_input(tree))
    again = await record(client, visit_input(tree))
    assert again["replayed"] is True and again["errors"] == []
    assert again["visit"] == first["visit"]
    assert await count_rows(sessionmaker) == (1, 1)
    # A new key is a new visit.
    other = await record(client, visit_input(tree, idempotencyKey="key-0002"))
    assert other["visit"]["id"] != first["visit"]["id"]
    assert await count_rows(sessionmaker) == (2, 2)


async def test_same_key_with_other_input_is_refused(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await record(client, visit_input(tree))
    payload = await record(client, visit_input(tree, notes="别的内容"))
    assert payload["visit"] is None and payload["replayed"] is False
    assert [e["code"] for e in payload["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert payload["errors"][0]["__typename"] == "IdempotencyKeyReused"
    assert await count_rows(sessionmaker) == (1, 1)


@pytest.mark.parametrize(
    ("overrides", "typename", "field"),
    [
        ({"householdId": global_id("Household", 99999)}, "UnknownHousehold", "householdId"),
        ({"householdId": global_id("Cadre", 1)}, "UnknownHousehold", "householdId"),
        ({"householdId": "garbage"}, "UnknownHousehold", "householdId"),
        ({"cadreId": global_id("Cadre", 99999)}, "UnknownCadre", "cadreId"),
        ({"cadreId": global_id("Household", 1)}, "UnknownCadre", "cadreId"),
        (
            {"visitedOn": (TODAY + dt.timedelta(days=2)).isoformat()},
            "DateInFuture",
            "visitedOn",
        ),
        ({"notes": "字" * 2001}, "TextTooLong", "notes"),
        ({"idempotencyKey": "short"}, "InvalidIdempotencyKey", "idempotencyKey"),
        ({"idempotencyKey": "k" * 129}, "InvalidIdempotencyKey", "idempotencyKey"),
        ({"idempotencyKey": "tab\tinside-key"}, "InvalidIdempotencyKey", "idempotencyKey"),
    ],
)
async def test_each_bad_input_is_a_typed_error_and_writes_nothing(
    client: httpx.AsyncClient,
    tree: Tree,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    typename: str,
    field: str,
) -> None:
    payload = await record(client, visit_input(tree, **overrides))
    assert payload["visit"] is None
    assert [(e["__typename"], e["field"]) for e in payload["errors"]] == [(typename, field)]
    assert payload["errors"][0]["message"]
    assert await count_rows(sessionmaker) == (0, 0)


async def test_all_errors_are_reported_together(client: httpx.AsyncClient, tree: Tree) -> None:
    payload = await record(
        client,
        visit_input(
            tree,
            householdId=global_id("Household", 99999),
            cadreId=global_id("Cadre", 99999),
        ),
    )
    assert {e["code"] for e in payload["errors"]} == {"UNKNOWN_HOUSEHOLD", "UNKNOWN_CADRE"}


async def test_a_failed_send_does_not_burn_the_key(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    bad = await record(client, visit_input(tree, cadreId=global_id("Cadre", 99999)))
    assert bad["errors"]
    good = await record(client, visit_input(tree))
    assert good["errors"] == [] and good["replayed"] is False
    assert await count_rows(sessionmaker) == (1, 1)


async def test_malformed_date_is_a_graphql_error(client: httpx.AsyncClient, tree: Tree) -> None:
    response = await client.post(
        "/graphql",
        json={
            "query": RECORD_VISIT,
            "variables": {"input": visit_input(tree, visitedOn="2014-02-30")},
        },
    )
    body = response.json()
    assert "data" not in body or body["data"] is None
    assert "visitedOn" in body["errors"][0]["message"]


async def test_concurrent_sends_of_one_key_write_once(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    payloads = await asyncio.gather(*(record(client, visit_input(tree)) for _ in range(8)))
    assert all(p["errors"] == [] for p in payloads)
    assert len({p["visit"]["id"] for p in payloads}) == 1
    assert sum(not p["replayed"] for p in payloads) == 1
    assert await count_rows(sessionmaker) == (1, 1)
