"""``recordVisit`` over HTTP: success, replays, every typed error, and races."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Environment, Settings
from app.system import system_context
from db import scoping
from db.models import Area, AuditEvent, Household, IdempotencyKey, Visit
from db.queries import cadres as cadre_queries
from db.queries import visits as visit_queries
from policies.scope import Grant, Scope
from resolvers import visits
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


async def test_on_postgresql_a_visit_is_one_statement(
    database_url: str, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Visit, key, audit line, tallies and counters: one statement, committed on its own."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite records a visit in a few statements of one transaction")
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    data = visits.RecordVisitInput(
        household_id=tree.household_id,
        cadre_id=tree.cadre_id,
        visited_on=dt.date(2014, 1, 23),
        notes="",
        idempotency_key="one-statement",
    )
    settings = Settings(database_url=database_url, environment=Environment.DEVELOPMENT)
    event.listen(Engine, "before_cursor_execute", note)
    try:
        async with system_context(settings) as context:
            first = await visits.record_visit(context, data)
            assert first.value is not None and len(statements) == 1, statements
            # Durable when it answers: another connection sees the visit and its audit line.
            async with sessionmaker() as session:
                assert await session.get(Visit, first.value.id) is not None
                audit = await session.scalar(
                    select(func.count()).where(AuditEvent.object_id == first.value.id)
                )
                assert audit == 1
            statements.clear()
            again = await visits.record_visit(context, data)
            # The statement finds the key taken; the key and the first visit are read.
            assert again.replayed and len(statements) == 3, statements
    finally:
        event.remove(Engine, "before_cursor_execute", note)


async def test_the_one_statement_scopes_as_scoping_clause_does(
    database_url: str, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Its scopes are parameters (one statement for all); they admit what the clause admits."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the one-statement write is PostgreSQL's")
    async with sessionmaker() as session:
        path = dict((await session.execute(select(Area.id, Area.path))).all())
    county, township, village = path[tree.county_id], path[tree.township_id], path[tree.village_id]
    group, other_group = path[tree.group_id], path[tree.other_group_id]
    scopes = [
        Scope(),
        Scope((Grant("/"),)),
        Scope((Grant(county),)),
        Scope((Grant(group),)),
        Scope((Grant(group), Grant(other_group))),
        Scope((Grant(county),), (group,)),
        Scope((Grant(township),), (village, other_group)),
        Scope((Grant(county, tree.department_id),)),
        Scope((Grant(village), Grant(county, tree.department_id))),
    ]
    cases = [
        (household_scope, cadre_scope, household_id, cadre_id, self_id)
        for scope in scopes
        for household_scope, cadre_scope in (
            (scope, scoping.EVERYWHERE),
            (scoping.EVERYWHERE, scope),
        )
        for household_id in (tree.household_id, tree.other_household_id)
        for cadre_id in (tree.cadre_id, tree.other_cadre_id)
        for self_id in (None, cadre_id)
    ]
    outcomes = set()
    for n, (household_scope, cadre_scope, household_id, cadre_id, self_id) in enumerate(cases):
        async with sessionmaker() as session:
            admitted = await session.scalar(
                select(func.count())
                .select_from(Household)
                .join(Area, Area.id == Household.group_id)
                .where(Household.id == household_id, scoping.clause(household_scope, Area.path))
            )
            seen = await cadre_queries.get_many(
                session=session, cadre_ids=[cadre_id], scope=cadre_scope, self_id=self_id
            )
        async with sessionmaker() as session:
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            visit = await visit_queries.record(
                session=session,
                scope=household_scope,
                cadre_scope=cadre_scope,
                self_id=self_id,
                user_id=0,
                operation="recordVisit",
                key=f"scope-{n:04d}",
                request_hash="",
                request_id="",
                cadre_id=cadre_id,
                household_id=household_id,
                visited_on=dt.date(2014, 1, 23),
                notes="",
            )
        expected = bool(admitted) and bool(seen)
        assert (visit is not None) == expected, cases[n]
        outcomes.add(expected)
    assert outcomes == {True, False}
