"""The exact response cache of the compiled rollup path: never a stale answer.

For every keyed mutation (the twins' cases: every write the API has, read from the
schema), a rollup document over the whole tree and one per rollup field (an answer
follows only the kinds of version its fields need) are answered and cached, the
write runs, and the next answers equal ordinary execution's. A cached answer costs one
statement (the version read), audits its restricted reads like the read itself,
and a visit moves the version of the visiting cadre's own area too (its counts by
window change although the household lies elsewhere).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from db import counters
from db.models import Area, AreaCounter, AreaLevel, AuditEvent, Cadre, CadreRank
from db.queries import areas as area_queries
from tests.conftest import TESTER, token_for
from tests.helpers import global_id, make_tree
from tests.schema.ledger_api import item_input, new_key, record_item
from tests.schema.test_fast_path import ROLLUP_FIELDS, Statements, statements  # noqa: F401
from tests.schema.test_mutation_twins import TWINS

# every rollup field once (the ones with arguments also as an alias: 30 aliases at most)
FIELDS = " ".join(f"a{i}: {f}" if "(" in f else f for i, f in enumerate(ROLLUP_FIELDS))
ROLLUP = f'rollup {{ {FIELDS} }} w: rollup(from: "2014-01-20", to: "2014-02-28") {{ {FIELDS} }}'
# county → township → villages, every rollup field on each, with a window on the county
DOCUMENT = f"""query ($code: String!) {{ area(code: $code) {{ id name {ROLLUP}
  children {{ code rollup {{ {FIELDS} }} children {{ code rollup {{ {FIELDS} }} }} }} }} }}"""
COUNTY = "519902"


@pytest.fixture
async def ordinary(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings.model_copy(update={"fast_path": False}))
    async with application.router.lifespan_context(application):
        yield application


# and each field alone: an answer follows only the kinds of version its fields need
ALONE = [
    f"""query ($code: String!) {{ area(code: $code) {{ rollup {{ {field} }}
      children {{ rollup {{ {field} }} children {{ name rollup {{ {field} }} }} }} }} }}"""
    for field in ROLLUP_FIELDS
]


async def _answer(
    app: Starlette, settings: Settings, user: str = TESTER, document: str = DOCUMENT
) -> Any:
    headers = {"authorization": f"Bearer {token_for(settings, user)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        response = await http.post(
            "/graphql", json={"query": document, "variables": {"code": COUNTY}}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body


async def _version(sessionmaker: async_sessionmaker[AsyncSession], area_id: int) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(func.sum(AreaCounter.value)).where(
                AreaCounter.area_id == area_id, AreaCounter.metric == counters.VERSION
            )
        )
        return int(found or 0)


@pytest.mark.parametrize("name", sorted(TWINS))
async def test_no_write_leaves_a_stale_cached_answer(
    name: str,
    app: Starlette,
    ordinary: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tree = await make_tree(sessionmaker)
    twin = TWINS[name]
    variables = await twin.variables(tree, client, new_key())  # its setup writes first
    if name == "rateLedgerItem":  # a satisfied rating changes no count; this one reopens
        variables["i"]["satisfaction"] = "DISSATISFIED"
    for _ in range(3):  # verified by ordinary execution, compiled and kept, then kept
        before = await _answer(app, settings)
        for document in ALONE:
            await _answer(app, settings, document=document)
    assert before == await _answer(ordinary, settings)
    county_before = await _version(sessionmaker, tree.county_id)
    response = await client.post("/graphql", json={"query": twin.document, "variables": variables})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    assert await _version(sessionmaker, tree.county_id) > county_before, name
    after = await _answer(app, settings)
    assert after == await _answer(ordinary, settings), name
    for document in ALONE:
        expected = await _answer(ordinary, settings, document=document)
        assert await _answer(app, settings, document=document) == expected, (name, document)
    assert after != before, f"{name} changed nothing the document shows: not a test of it"


async def test_a_cached_answer_is_one_statement_and_audits_its_restricted_read(
    app: Starlette,
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    statements: Statements,  # noqa: F811
) -> None:
    tree = await make_tree(sessionmaker)
    recorded = await record_item(
        client, item_input(tree, ledger="stability", category="land_acquisition")
    )
    assert recorded["errors"] == [], recorded
    answers: list[Any] = []
    audited: list[list[tuple[Any, ...]]] = []
    for _ in range(3):
        async with sessionmaker() as session:
            last = await session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()))
        statements.count, statements.seen = 0, []
        answers.append(await _answer(app, settings))
        await asyncio.sleep(0.01)  # asyncpg delivers its query log with call_soon
        seen = [s for s in statements.seen if not s.startswith(("BEGIN", "COMMIT"))]
        async with sessionmaker() as session:
            lines = (
                await session.execute(
                    select(AuditEvent.action, AuditEvent.rows).where(
                        AuditEvent.id > (last or 0), AuditEvent.action.like("read:%")
                    )
                )
            ).all()
        # the county leader sees the stability item: every answer, cached or not, audited
        audited.append([tuple(line) for line in lines])
    assert audited[0] == audited[1] == audited[2] and audited[0][0][0] == "read:rollup", audited
    assert len(audited[0]) == 1 and audited[0][0][1] > 0, audited
    assert answers[0] == answers[1] == answers[2]
    metrics = (await client.get("/metrics")).text
    assert 'grassroots_rollup_answers_total{outcome="kept"} 1.0' in metrics, metrics
    postgres = "postgres" in settings.database_url
    # the third answer, from the cache: the version read (on PostgreSQL writing the audit
    # line too), and on SQLite the audit line's own INSERT
    assert seen[0].startswith(("WITH v AS", "SELECT coalesce(sum(value), 0) = ?")), seen
    assert len(seen) == (1 if postgres else 2), seen


async def test_a_visit_moves_the_version_of_the_cadres_own_area(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tree = await make_tree(sessionmaker)
    async with sessionmaker.begin() as session:
        county = await session.get(Area, tree.county_id)
        assert county is not None
        elsewhere = await area_queries.create(
            session=session, parent=county, level=AreaLevel.TOWNSHIP, name="别镇", code="519902102"
        )
        visitor = Cadre(name="钱七", rank=CadreRank.TOWNSHIP, area_id=elsewhere.id)
        session.add(visitor)
        await session.flush()
        elsewhere_id, visitor_id = elsewhere.id, visitor.id
    household = global_id("Household", tree.household_id)
    for document, variables in (
        (
            """mutation ($i: RecordVisitInput!) {
              recordVisit(input: $i) { errors { __typename } } }""",
            {
                "i": {
                    "householdId": household,
                    "cadreId": global_id("Cadre", visitor_id),
                    "visitedOn": "2014-01-23",
                    "idempotencyKey": new_key(),
                }
            },
        ),
        (
            """mutation ($v: [BatchVisitInput!]!, $k: String!) {
              recordVisits(visits: $v, idempotencyKey: $k) { errors { __typename } } }""",
            {
                "v": [
                    {
                        "householdId": household,
                        "cadreId": global_id("Cadre", visitor_id),
                        "visitedOn": "2014-01-24",
                    }
                ],
                "k": new_key(),
            },
        ),
    ):
        before = await _version(sessionmaker, elsewhere_id)
        response = await client.post("/graphql", json={"query": document, "variables": variables})
        (payload,) = response.json()["data"].values()
        assert payload["errors"] == [], response.text
        assert await _version(sessionmaker, elsewhere_id) > before, document


async def test_a_rebuild_moves_every_version_on(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    tree = await make_tree(sessionmaker)
    before = {a: await _version(sessionmaker, a) for a in (tree.county_id, tree.group_id)}
    async with sessionmaker.begin() as session:
        await counters.rebuild(session)
    for area_id, version in before.items():
        assert await _version(sessionmaker, area_id) > version


async def test_with_no_cache_every_answer_is_computed(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await make_tree(sessionmaker)
    application = create_app(settings.model_copy(update={"rollup_cache_mib": 0}))
    async with application.router.lifespan_context(application):
        answers = [await _answer(application, settings) for _ in range(3)]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as http:
            metrics = (await http.get("/metrics")).text
    assert answers[0] == answers[1] == answers[2]
    assert 'grassroots_rollup_answers_total{outcome="computed"} 2.0' in metrics, metrics
    assert 'outcome="kept"' not in metrics, metrics
