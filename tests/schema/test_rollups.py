"""Rollups over HTTP: equal to a recount, parents equal their children, a fixed number
of statements whatever the number of children, windows, and scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.demo import seed_demo_ledgers
from app.settings import Settings
from app.system import system_context
from db import counters
from db.engine import write_transaction
from db.models import LedgerItem
from db.paths import path_end
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE
from db.seed.demo import COUNTY_CODE, seed_demo
from tests.conftest import token_for
from tests.helpers import TESTER, gql, grant

FIELDS = """
  households visitedHouseholds personVisits cadres cadresVisiting cadresAtQuota
  meetings suggestions condolenceAmount condolencePeople partial
  items { ledger category status count }
  needyHouseholds { reason households }
"""
TREE = f"""
query ($code: String!) {{ area(code: $code) {{
  id rollup {{ {FIELDS} }}
  children {{ id rollup {{ {FIELDS} }} children {{ id rollup {{ {FIELDS} }} }} }}
}} }}
"""


@pytest.fixture
async def demo(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
        county = await area_queries.get_by_code(session=session, code=COUNTY_CODE, scope=EVERYWHERE)
    assert county is not None
    async with system_context(settings) as context:
        await seed_demo_ledgers(context)
    await grant(sessionmaker, TESTER, "county_leader", county.id)
    return county.id


def _expected(fresh: dict[tuple[int, str, str], int], area_id: int) -> dict[str, Any]:
    def one(metric: str) -> int:
        return fresh.get((area_id, metric, ""), 0)

    items: dict[tuple[str, str, str], int] = {}
    needy = []
    for (a, metric, key), value in sorted(fresh.items()):
        if a == area_id and metric == counters.ITEMS:
            ledger, category, status = counters.split_item_key(key)
            items[(ledger, category, status)] = items.get((ledger, category, status), 0) + value
        if a == area_id and metric == counters.NEEDY:
            needy.append({"reason": key, "households": value})
    return {
        "households": one(counters.HOUSEHOLDS),
        "visitedHouseholds": one(counters.VISITED),
        "personVisits": one(counters.VISITS),
        "cadres": one(counters.CADRES),
        "cadresVisiting": one(counters.CADRES_ACTIVE),
        "cadresAtQuota": one(counters.CADRES_AT_QUOTA),
        "meetings": one(counters.MEETINGS),
        "suggestions": one(counters.SUGGESTIONS),
        "condolenceAmount": f"{one(counters.CONDOLENCE_FEN) / 100:.2f}",
        "condolencePeople": one(counters.CONDOLENCE_PEOPLE),
        "partial": False,
        "items": [
            {"ledger": ledger, "category": category, "status": status, "count": n}
            for (ledger, category, status), n in sorted(items.items())
        ],
        "needyHouseholds": needy,
    }


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children", []):
        yield from _walk(child)


async def test_every_rollup_equals_a_recount(
    client: httpx.AsyncClient, demo: int, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    from strawberry.relay import GlobalID

    data = await gql(client, TREE, {"code": COUNTY_CODE})
    async with sessionmaker() as session:
        fresh = await counters.recount(session)
    checked = 0
    for node in _walk(data["area"]):
        area_id = int(GlobalID.from_id(node["id"]).node_id)
        assert node["rollup"] == _expected(fresh, area_id), area_id
        checked += 1
    assert checked == 1 + 3 + 12


async def test_parents_are_the_sum_of_their_children(client: httpx.AsyncClient, demo: int) -> None:
    data = await gql(client, TREE, {"code": COUNTY_CODE})
    for node in _walk(data["area"]):
        kids = node.get("children") or []
        if not kids:
            continue
        for field in ("households", "visitedHouseholds", "personVisits", "condolencePeople"):
            assert node["rollup"][field] == sum(k["rollup"][field] for k in kids), field


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        self.seen.append(statement.split("\n")[0][:90])


@pytest.fixture
def statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)


Q1_FIELDS = """households visitedHouseholds coverage personVisits
  itemsByStatus { status count } needyHouseholds { households }"""
ONE_LEVEL = f"""
query ($code: String!) {{ area(code: $code) {{
  rollup {{ {Q1_FIELDS} }}
  children {{ name rollup {{ {Q1_FIELDS} }} }}
}} }}
"""


async def test_statements_do_not_grow_with_children(
    client: httpx.AsyncClient, demo: int, statements: StatementCounter
) -> None:
    await gql(client, ONE_LEVEL, {"code": COUNTY_CODE})  # the first request loads the policy
    used = {}
    for code in (COUNTY_CODE, f"{COUNTY_CODE}101", f"{COUNTY_CODE}101001"):  # 3, 4, 4 children
        statements.count = 0
        statements.seen = []
        await gql(client, ONE_LEVEL, {"code": code})
        used[code] = statements.count
    # County and township hold restricted items (one audit write each); the village none.
    assert used[COUNTY_CODE] == used[f"{COUNTY_CODE}101"], (used, statements.seen)
    assert used[f"{COUNTY_CODE}101001"] <= used[COUNTY_CODE] <= 10, used


WINDOW = """
query ($code: String!, $from: Date, $to: Date) { area(code: $code) {
  rollup(from: $from, to: $to) { personVisits visitedHouseholds weeklyVisits { week visits } }
} }
"""


async def test_windows_count_only_dated_rows_inside(client: httpx.AsyncClient, demo: int) -> None:
    whole = (await gql(client, WINDOW, {"code": COUNTY_CODE}))["area"]["rollup"]
    early = (await gql(client, WINDOW, {"code": COUNTY_CODE, "to": "2014-01-19"}))["area"]["rollup"]
    late = (await gql(client, WINDOW, {"code": COUNTY_CODE, "from": "2014-01-20"}))["area"][
        "rollup"
    ]
    assert early["personVisits"] + late["personVisits"] == whole["personVisits"]
    assert sum(w["visits"] for w in whole["weeklyVisits"]) == whole["personVisits"]
    assert all(w["week"] >= "2014-01-20" for w in late["weeklyVisits"])
    assert early["visitedHouseholds"] <= whole["visitedHouseholds"]


SCOPED = """
query ($code: String!) { area(code: $code) { rollup {
  partial items { ledger count } households } } }
"""


async def test_rollups_respect_scope_and_mark_partial_views(
    app: Starlette,
    settings: Settings,
    demo: int,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    township_code = f"{COUNTY_CODE}101"
    async with sessionmaker() as session:
        township = await area_queries.get_by_code(
            session=session, code=township_code, scope=EVERYWHERE
        )
        village = await area_queries.get_by_code(
            session=session, code=f"{COUNTY_CODE}101001", scope=EVERYWHERE
        )
    assert township is not None and village is not None
    await grant(sessionmaker, "tc", "township_cadre", township.id)
    await grant(sessionmaker, "mixed", "township_leader", township.id)
    await grant(sessionmaker, "mixed", "village_cadre", village.id)
    leader = (await gql(client, SCOPED, {"code": township_code}))["area"]["rollup"]
    transport = httpx.ASGITransport(app=app)
    views = {}
    for user in ("tc", "mixed"):
        headers = {"authorization": f"Bearer {token_for(settings, user)}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as http:
            views[user] = (await gql(http, SCOPED, {"code": township_code}))["area"]["rollup"]
    stability = {
        user: sum(i["count"] for i in view["items"] if i["ledger"] == "stability")
        for user, view in (("leader", leader), *views.items())
    }
    assert stability["leader"] > 0
    assert stability["tc"] == 0 and "stability" not in str(views["tc"])
    assert views["tc"]["partial"] is False and views["tc"]["households"] == leader["households"]
    # The mixed user sees the township's stability items except in the denied village.
    async with sessionmaker() as session:
        in_village = await session.scalar(
            select(func.count())
            .select_from(LedgerItem)
            .where(
                LedgerItem.ledger == "stability",
                LedgerItem.area_path >= village.path,
                LedgerItem.area_path < path_end(village.path),
            )
        )
    assert stability["mixed"] == stability["leader"] - (in_village or 0)
    assert views["mixed"]["partial"] is True
