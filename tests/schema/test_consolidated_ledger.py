"""The township consolidated ledger: filters, pages, totals and the matrix, all in SQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.helpers import Tree, global_id, gql, gql_raw, make_tree
from tests.schema.ledger_api import act, item_input, record_item

LEDGER = """
query ($area: ID!, $filter: LedgerItemFilter, $first: Int, $after: String) {
  node(id: $area) { ... on Area {
    ledgerItems(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { node { id ledger category status overdue(asOf: "2014-03-03") } }
      pageInfo { hasNextPage endCursor }
    }
    ledgerMatrix(filter: $filter) { ledger category status count }
  } }
}
"""


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


@pytest.fixture
async def items(client: httpx.AsyncClient, tree: Tree) -> list[dict[str, Any]]:
    """Nine items in the village, two in the neighbouring one, in known states."""
    specs = [
        ("water", "2014-01-23", []),  # due 2014-02-11, open: overdue on 3 March
        ("water", "2014-02-20", []),  # due 2014-03-06: not yet overdue
        ("road", "2014-01-23", ["resolve_on_the_spot"]),  # closed on 12 Feb: not overdue
        ("road", "2014-01-23", ["assign"]),  # overdue
        ("electricity", "2014-02-24", ["assign"]),
        ("gas", "2014-01-06", ["decline"]),
        ("other", "2014-02-25", []),
        ("water", "2014-02-26", ["assign", "make_plan"]),
        ("road", "2014-02-27", []),
    ]
    made = []
    for category, received, actions in specs:
        payload = await record_item(
            client, item_input(tree, category=category, receivedOn=received)
        )
        item = payload["item"]
        for action in actions:
            item = (await act(client, tree, action, item["id"], on="2014-02-28"))["item"]
        made.append(item)
    for _ in range(2):
        payload = await record_item(
            client,
            item_input(
                tree,
                areaId=global_id("Area", tree.other_group_id),
                householdId=global_id("Household", tree.other_household_id),
            ),
        )
        made.append(payload["item"])
    return made


async def ledger(
    client: httpx.AsyncClient, area_id: int, flt: dict[str, Any] | None = None, **page: Any
) -> dict[str, Any]:
    data = await gql(client, LEDGER, {"area": global_id("Area", area_id), "filter": flt, **page})
    node: dict[str, Any] = data["node"]
    return node


async def test_subtree_totals_and_matrix(
    client: httpx.AsyncClient, tree: Tree, items: list[dict[str, Any]]
) -> None:
    township = await ledger(client, tree.township_id, first=100)
    village = await ledger(client, tree.village_id, first=100)
    assert township["ledgerItems"]["totalCount"] == 11
    assert village["ledgerItems"]["totalCount"] == 9
    # The matrix is the same filter counted by ledger, category and status.
    seen = Counter(
        (e["node"]["ledger"], e["node"]["category"], e["node"]["status"])
        for e in village["ledgerItems"]["edges"]
    )
    matrix = {
        (c["ledger"], c["category"], c["status"]): c["count"] for c in village["ledgerMatrix"]
    }
    assert matrix == dict(seen)
    assert matrix[("livelihood", "road", "RESOLVED")] == 1
    assert matrix[("livelihood", "water", "RECEIVED")] == 2


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"categories": ["road"]}, 3),
        ({"statuses": ["RECEIVED"]}, 4),
        ({"statuses": ["RESOLVED", "DECLINED"]}, 2),
        ({"overdue": True, "asOf": "2014-03-03"}, 2),
        ({"overdue": False, "asOf": "2014-03-03"}, 7),
        ({"receivedFrom": "2014-02-01", "receivedTo": "2014-02-25"}, 3),
        ({"ledgers": ["hardship"]}, 0),
        ({"categories": ["road"], "statuses": ["ASSIGNED"]}, 1),
    ],
)
async def test_filters(
    client: httpx.AsyncClient,
    tree: Tree,
    items: list[dict[str, Any]],
    flt: dict[str, Any],
    expected: int,
) -> None:
    result = await ledger(client, tree.village_id, flt, first=100)
    assert result["ledgerItems"]["totalCount"] == expected
    assert len(result["ledgerItems"]["edges"]) == expected
    assert sum(c["count"] for c in result["ledgerMatrix"]) == expected


async def test_overdue_flag_agrees_with_the_filter(
    client: httpx.AsyncClient, tree: Tree, items: list[dict[str, Any]]
) -> None:
    overdue = await ledger(client, tree.village_id, {"overdue": True, "asOf": "2014-03-03"})
    assert all(e["node"]["overdue"] for e in overdue["ledgerItems"]["edges"])
    fine = await ledger(client, tree.village_id, {"overdue": False, "asOf": "2014-03-03"})
    assert not any(e["node"]["overdue"] for e in fine["ledgerItems"]["edges"])


async def test_responsible_filter(
    client: httpx.AsyncClient, tree: Tree, items: list[dict[str, Any]]
) -> None:
    mine = await ledger(
        client, tree.village_id, {"responsibleId": global_id("Cadre", tree.other_cadre_id)}
    )
    assert mine["ledgerItems"]["totalCount"] == 3
    nobody = await ledger(client, tree.village_id, {"responsibleId": "garbage"})
    assert nobody["ledgerItems"]["totalCount"] == 0


async def test_pages_cover_the_filter_exactly_once(
    client: httpx.AsyncClient, tree: Tree, items: list[dict[str, Any]]
) -> None:
    ids: list[str] = []
    after = None
    while True:
        result = (await ledger(client, tree.township_id, first=4, after=after))["ledgerItems"]
        ids += [e["node"]["id"] for e in result["edges"]]
        if not result["pageInfo"]["hasNextPage"]:
            break
        after = result["pageInfo"]["endCursor"]
    assert sorted(ids) == sorted(item["id"] for item in items)


@pytest.mark.parametrize(
    ("flt", "message"),
    [
        ({"ledgers": ["nonsense"]}, "unknown ledger 'nonsense'"),
        ({"categories": ["nonsense"]}, "unknown category 'nonsense'"),
    ],
)
async def test_unknown_names_in_filters_are_refused(
    client: httpx.AsyncClient, tree: Tree, flt: dict[str, Any], message: str
) -> None:
    body = await gql_raw(
        client, LEDGER, {"area": global_id("Area", tree.village_id), "filter": flt}
    )
    assert body["errors"][0]["message"] == message
