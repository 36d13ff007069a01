"""Recording ledger items: every ledger kind, every validation, and nothing half-written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import IdempotencyKey, LedgerItem, LedgerItemEvent, LedgerItemReason
from tests.helpers import Tree, global_id, gql, make_tree
from tests.schema.ledger_api import item_input, record_item


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, ...]:
    found = []
    async with sessionmaker() as session:
        for table in (LedgerItem, LedgerItemEvent, LedgerItemReason, IdempotencyKey):
            found.append(await session.scalar(select(func.count()).select_from(table)) or 0)
    return tuple(found)


async def test_hardship_item_with_several_reasons(client: httpx.AsyncClient, tree: Tree) -> None:
    payload = await record_item(
        client,
        item_input(tree, ledger="hardship", category=None, reasons=["illness", "disability"]),
    )
    assert payload["errors"] == []
    assert payload["item"]["category"] == "illness"
    assert payload["item"]["reasons"] == ["disability", "illness"]


async def test_department_item_defaults_to_the_county(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    payload = await record_item(
        client,
        item_input(
            tree,
            ledger="key_work",
            category="service_style",
            areaId=None,
            householdId=None,
            departmentId=global_id("Department", tree.department_id),
        ),
    )
    assert payload["errors"] == []
    assert payload["item"]["area"]["id"] == global_id("Area", tree.county_id)
    assert payload["item"]["department"] == {"name": "县民政局"}


async def test_group_level_item_and_sources(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    visit = await gql(
        client,
        """mutation ($i: RecordVisitInput!) { recordVisit(input: $i) { visit { id } } }""",
        {
            "i": {
                "householdId": global_id("Household", tree.household_id),
                "cadreId": global_id("Cadre", tree.cadre_id),
                "visitedOn": "2014-01-20",
                "idempotencyKey": "visit-for-source",
            }
        },
    )
    visit_id = visit["recordVisit"]["visit"]["id"]
    payload = await record_item(
        client, item_input(tree, areaId=global_id("Area", tree.group_id), sourceVisitId=visit_id)
    )
    assert payload["errors"] == []
    source = await gql(
        client,
        "query ($id: ID!) { node(id: $id) { ... on LedgerItem { source { __typename "
        "... on Visit { id } } } } }",
        {"id": payload["item"]["id"]},
    )
    assert source["node"]["source"] == {"__typename": "Visit", "id": visit_id}


BAD_ITEMS: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    ({"ledger": "nonsense"}, [("UnknownLedger", "ledger")]),
    ({"category": "internet"}, [("UnknownCategory", "category")]),
    ({"category": None}, [("Required", "category")]),
    ({"reasons": ["illness"]}, [("NotAllowedHere", "reasons")]),
    ({"ledger": "hardship", "category": None, "reasons": []}, [("Required", "reasons")]),
    (
        {"ledger": "hardship", "category": None, "reasons": ["illness", "illness"]},
        [("UnknownCategory", "reasons")],
    ),
    (
        {"ledger": "hardship", "category": "disaster", "reasons": ["illness"]},
        [("UnknownCategory", "category")],
    ),
    (
        {"ledger": "hardship", "category": None, "reasons": ["illness"], "householdId": None},
        [("Required", "householdId")],
    ),
    ({"title": " "}, [("Required", "title")]),
    ({"title": "长" * 201}, [("TextTooLong", "title")]),
    ({"receivedOn": "2999-01-01"}, [("DateInFuture", "receivedOn")]),
    ({"areaId": None}, [("Required", "areaId")]),
    ({"departmentId": "RGVwYXJ0bWVudDox"}, [("NotAllowedHere", "departmentId")]),
    ({"ledger": "key_work", "category": "other", "areaId": None}, [("Required", "departmentId")]),
    ({"sourceVisitId": "x", "sourceMeetingId": "y"}, [("NotAllowedHere", "source")]),
    # Checked against the database, inside the write transaction:
    ({"areaId": "QXJlYTo5OTk5OQ=="}, [("UnknownArea", "areaId")]),
    ({"receivedById": "Q2FkcmU6OTk5OTk="}, [("UnknownCadre", "receivedById")]),
    ({"sourceVisitId": "VmlzaXQ6OTk5OTk="}, [("UnknownSource", "source")]),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD_ITEMS)
async def test_bad_item_is_typed_and_writes_nothing(
    client: httpx.AsyncClient,
    tree: Tree,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    values = item_input(tree)
    values.update(overrides)
    values = {k: v for k, v in values.items() if v is not None}
    payload = await record_item(client, values)
    assert payload["item"] is None
    assert [(e["__typename"], e["field"]) for e in payload["errors"]] == expected
    assert await counts(sessionmaker) == (0, 0, 0, 0)


async def test_area_level_and_household_place_are_checked(
    client: httpx.AsyncClient, tree: Tree, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wrong_level = await record_item(
        client, item_input(tree, areaId=global_id("Area", tree.township_id))
    )
    assert [e["__typename"] for e in wrong_level["errors"]] == ["WrongAreaLevel"]
    elsewhere = await record_item(
        client, item_input(tree, householdId=global_id("Household", tree.other_household_id))
    )
    assert [e["__typename"] for e in elsewhere["errors"]] == ["NotInArea"]
    assert await counts(sessionmaker) == (0, 0, 0, 0)


async def test_catalog_lists_ledgers_categories_and_limits(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    data = await gql(
        client,
        "{ ledgerCatalog { key name departmentLedger deadlineWorkingDays categories { key } } }",
    )
    kinds = {k["key"]: k for k in data["ledgerCatalog"]}
    assert set(kinds) == {
        "livelihood", "hardship", "stability", "key_work",
        "needy_employee", "petition", "project_aid", "aid_pairing",
    }  # fmt: skip
    assert [c["key"] for c in kinds["livelihood"]["categories"]] == [
        "water", "electricity", "gas", "road", "other",
    ]  # fmt: skip
    assert len(kinds["stability"]["categories"]) == 12
    assert kinds["petition"]["departmentLedger"] is True
    assert kinds["livelihood"]["deadlineWorkingDays"] == 10
