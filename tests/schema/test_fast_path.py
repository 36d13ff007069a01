"""The compiled rollup path against ordinary execution: the same bodies and the same audit
lines, for every role, over the shipped saved queries, the benchmark's documents and
generated rollup documents, compiled and from the response cache; and a rollup request
costs one statement."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import Pool
from starlette.applications import Starlette

from app.demo import seed_demo_ledgers
from app.graphql_http import GraphQLEndpoint
from app.main import create_app
from app.settings import Settings
from app.system import system_context
from db.engine import write_transaction
from db.models import AuditEvent, Department
from db.queries import areas as area_queries
from db.scoping import EVERYWHERE
from db.seed.demo import COUNTY_CODE, seed_demo
from schema.fast_plan import plan_of
from tests.conftest import token_for
from tests.helpers import grant

TOWNSHIP = f"{COUNTY_CODE}101"
VILLAGE = f"{COUNTY_CODE}101001"
QUERIES = Path(__file__).parents[2] / "db" / "seed" / "queries"

# role → where it is granted (department cadres get a department too)
ROLES = {
    "county_leader": COUNTY_CODE,
    "department_cadre": COUNTY_CODE,
    "guidance_member": COUNTY_CODE,
    "guidance_stability_member": COUNTY_CODE,
    "reporting_tool": COUNTY_CODE,
    "stability_officer": COUNTY_CODE,
    "auditor": COUNTY_CODE,
    "admin": COUNTY_CODE,
    "township_leader": TOWNSHIP,
    "township_cadre": TOWNSHIP,
    "village_secretary": VILLAGE,
    "village_cadre": VILLAGE,
    "group_head": VILLAGE,
}

F = """households visitedHouseholds coverage personVisits
  itemsByStatus { status count } needyHouseholds { reason households }"""
FIXED = [
    # the benchmark's Q1–Q5 shapes
    f"query ($code: String!) {{ area(code: $code) {{ name rollup {{ {F} }} "
    f"children {{ name code rollup {{ {F} }} }} }} }}",
    """query ($code: String!, $asOf: Date!) { area(code: $code) {
      children { name rollup { overdueItems(asOf: $asOf) } } } }""",
    """query ($code: String!) { area(code: $code) {
      children { name rollup { items(ledgers: ["stability"]) { count } } } } }""",
    # everything, two levels down, with a window
    """query ($code: String!, $from: Date, $to: Date) { area(code: $code) {
      id level __typename rollup(from: $from, to: $to) { windowFrom windowTo households
        visitedHouseholds coverage personVisits cadres cadresVisiting cadresAtQuota
        participation meetings suggestions condolenceAmount condolencePeople partial
        itemsByStatus { status count __typename } needyHouseholds { reason households }
        weeklyVisits { week visits } items { ledger category status count }
        overdueItems overdueItems2: overdueItems(asOf: "2014-02-01") __typename }
      children { id code children { name rollup { personVisits cadresAtQuota } } } } }""",
    # aliases, fragments, two roots
    """query ($code: String!) { a: area(code: $code) { ...A } b: area(code: "519901101") {
      name r: rollup { p: personVisits ...R } } __typename }
    fragment A on Area { name rollup { ...R } children { ... on Area { code } } }
    fragment R on Rollup { items(ledgers: ["livelihood", "stability"]) { l: ledger count } }""",
    # not of the compiled shape: ordinary execution in both
    """query ($code: String!) {
      area(code: $code) { name parent { name } rollup { households } } }""",
]

ROLLUP_FIELDS = [
    "households",
    "visitedHouseholds",
    "coverage",
    "personVisits",
    "cadres",
    "cadresVisiting",
    "cadresAtQuota",
    "participation",
    "meetings",
    "suggestions",
    "condolenceAmount",
    "condolencePeople",
    "partial",
    "itemsByStatus { status count }",
    "needyHouseholds { households reason }",
    "weeklyVisits { visits week }",
    "items { count status ledger category }",
    'items(ledgers: ["hardship"]) { ledger count }',
    "overdueItems",
    'overdueItems(asOf: "2014-03-01")',
]


def generated(count: int) -> list[str]:
    rng = random.Random(2026)
    documents = []
    for n in range(count):
        fields = rng.sample(ROLLUP_FIELDS, rng.randint(1, 6))
        body = " ".join(f"f{i}: {f}" for i, f in enumerate(fields))
        window = rng.choice(["", '(from: "2014-01-10")', '(from: "2014-01-01", to: "2014-01-31")'])
        rollup = f"rollup{window} {{ {body} }}"
        depth = rng.randint(0, 2)
        inner = f"code {rollup}"
        for _ in range(depth):
            inner = (
                f"name {rollup} children {{ {inner} }}"
                if rng.random() < 0.5
                else (f"children {{ {inner} }}")
            )
        documents.append(
            f"query Q{n} {{ area(code: $code) {{ {inner} }} }}".replace(
                f"query Q{n} {{", f"query Q{n}($code: String!) {{"
            )
        )
    return documents


def saved() -> list[str]:
    return [path.read_text() for path in sorted(QUERIES.glob("*.graphql"))]


VARIABLES = {"code": COUNTY_CODE, "area": COUNTY_CODE, "asOf": "2014-03-01", "from": "2014-01-05"}


@pytest.fixture
async def world(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with write_transaction(sessionmaker) as session:
        await seed_demo(session)
        areas = {
            code: await area_queries.get_by_code(session=session, code=code, scope=EVERYWHERE)
            for code in {COUNTY_CODE, TOWNSHIP, VILLAGE}
        }
        department = await session.scalar(select(Department.id).limit(1))
    async with system_context(settings) as context:
        await seed_demo_ledgers(context)
    for role, code in ROLES.items():
        area = areas[code]
        assert area is not None
        await grant(
            sessionmaker, role, role, area.id, department if role == "department_cadre" else None
        )
    # one who is a township leader and a village cadre below (a carved-out stability scope)
    township, village = areas[TOWNSHIP], areas[VILLAGE]
    assert township is not None and village is not None
    await grant(sessionmaker, "mixed", "township_leader", township.id)
    await grant(sessionmaker, "mixed", "village_cadre", village.id)


@pytest.fixture
async def ordinary(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings.model_copy(update={"fast_path": False}))
    async with application.router.lifespan_context(application):
        yield application


class Statements:
    def __init__(self) -> None:
        self.count = 0
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if "policy_version" not in statement:  # the door's, on SQLite (see test_auth)
            self.seen.append(statement[:60])


@pytest.fixture
def statements() -> Iterator[Statements]:
    """Every statement sent: through SQLAlchemy, and (the rollup statement on PostgreSQL
    goes to the driver directly) through asyncpg's own query log."""
    counter = Statements()

    def log_driver(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if driver is not None and hasattr(driver, "add_query_logger"):
            driver.add_query_logger(lambda query: counter(None, None, query.query))

    event.listen(Engine, "before_cursor_execute", counter)
    event.listen(Pool, "connect", log_driver)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)
    event.remove(Pool, "connect", log_driver)


async def _post(app: Starlette, user: str, settings: Settings, document: str) -> tuple[int, Any]:
    headers = {"authorization": f"Bearer {token_for(settings, user)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        response = await http.post("/graphql", json={"query": document, "variables": VARIABLES})
    body = response.json()
    for error in body.get("errors", ()):
        error.get("extensions", {}).pop("requestId", None)
    return response.status_code, body


async def _audits(sessionmaker: async_sessionmaker[AsyncSession], after: int) -> list[Any]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(AuditEvent.id, AuditEvent.action, AuditEvent.rows, AuditEvent.scope)
            .where(AuditEvent.id > after, AuditEvent.action.like("read:%"))
            .order_by(AuditEvent.id)
        )
        return list(rows.all())


def _endpoint(app: Starlette) -> GraphQLEndpoint:
    for route in app.routes:
        if getattr(route, "path", None) == "/graphql":
            endpoint = route.app  # type: ignore[attr-defined]
            assert isinstance(endpoint, GraphQLEndpoint)
            return endpoint
    raise AssertionError("no /graphql route")


@pytest.mark.slow
async def test_compiled_path_answers_as_ordinary_execution(
    world: None,
    app: Starlette,
    ordinary: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    documents = FIXED + saved() + generated(12)
    assert sum(plan_of(d, None) is not None for d in documents) >= 14  # most are compiled
    fast = _endpoint(app).fast
    assert fast is not None
    compared = 0
    for user in [*ROLES, "mixed"]:
        for document in documents:
            seen = (await _audits(sessionmaker, 0) or [(0,)])[-1][0]
            expected = await _post(ordinary, user, settings, document)
            expected_audit = [a[1:] for a in await _audits(sessionmaker, seen)]
            await _post(app, user, settings, document)  # the first time runs ordinarily
            seen = (await _audits(sessionmaker, 0) or [(0,)])[-1][0]
            got = await _post(app, user, settings, document)
            got_audit = [a[1:] for a in await _audits(sessionmaker, seen)]
            assert got == expected, (user, document)
            assert got_audit == expected_audit, (user, document)
            seen = (await _audits(sessionmaker, 0) or [(0,)])[-1][0]
            kept = await _post(app, user, settings, document)  # from the response cache
            kept_audit = [a[1:] for a in await _audits(sessionmaker, seen)]
            assert kept == expected, (user, document)
            assert kept_audit == expected_audit, (user, document)
            plan = fast.plans.get((document, None))
            if plan is not None and expected[0] == 200 and "errors" not in expected[1]:
                assert plan.verified, document
                compared += 1
    assert compared > 100


async def test_a_rollup_request_is_one_statement_whatever_the_children(
    statements: Statements, world: None, app: Starlette, settings: Settings
) -> None:
    document = FIXED[0]
    fast = _endpoint(app).fast
    assert fast is not None
    used, kept = {}, {}
    for code in (COUNTY_CODE, TOWNSHIP, VILLAGE):
        variables = {"code": code}
        headers = {"authorization": f"Bearer {token_for(settings, 'county_leader')}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
        ) as http:
            attempts: list[list[str]] = []
            for attempt in range(3):  # then by the compiled path, then from its cache
                if attempt == 1:
                    fast.responses.clear()
                statements.count = 0
                statements.seen = []
                response = await http.post(
                    "/graphql", json={"query": document, "variables": variables}
                )
                assert response.status_code == 200 and "errors" not in response.json()
                await asyncio.sleep(0.01)  # asyncpg delivers its query log with call_soon
                sent = [s for s in statements.seen if not s.startswith(("BEGIN", "COMMIT"))]
                attempts.append(sent)
        used[code], kept[code] = attempts[1], attempts[2]
    # a county leader sees the stability ledger: the read is audited, on PostgreSQL by the
    # rollup statement itself, on SQLite by an INSERT of its own (no round trip there)
    postgres = "postgres" in settings.database_url
    for seen in used.values():
        assert seen and seen[0].startswith("WITH root AS"), used
        assert len(seen) == 1 or (not postgres and len(seen) == 2), used
        assert all(s.startswith("INSERT INTO audit_event") for s in seen[1:]), used
    # a kept answer: its area's version read (on PostgreSQL writing the audit line too)
    for seen in kept.values():
        assert seen and seen[0].startswith(("WITH v AS", "SELECT v = ", "SELECT coalesce")), kept
        assert len(seen) == 1 or (not postgres and len(seen) == 2), kept


async def test_a_restricted_rollup_read_leaves_its_audit_line_on_both_paths(
    world: None,
    app: Starlette,
    ordinary: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    document = FIXED[0]  # itemsByStatus counts stability items for a county leader
    for application in (ordinary, app, app):  # ordinary, then compiled
        seen = (await _audits(sessionmaker, 0) or [(0,)])[-1][0]
        status, body = await _post(application, "county_leader", settings, document)
        assert status == 200 and "errors" not in body
        lines = await _audits(sessionmaker, seen)
        assert [line[1] for line in lines] == ["read:rollup"], lines
        assert lines[0][2] > 0 and lines[0][3].startswith("/00000001/")
    # one who may not see the stability ledger leaves none
    seen = (await _audits(sessionmaker, 0) or [(0,)])[-1][0]
    for _ in range(2):
        await _post(app, "township_cadre", settings, document)
    assert await _audits(sessionmaker, seen) == []


async def test_a_rollup_after_the_server_dropped_every_connection_still_answers(
    world: None, app: Starlette, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    if "postgres" not in settings.database_url:
        pytest.skip("backends to terminate are PostgreSQL's")
    for _ in range(2):  # the second time by the compiled path, on a pooled rollup connection
        status, body = await _post(app, "county_leader", settings, FIXED[0])
        assert status == 200 and "errors" not in body
    async with sessionmaker() as session:
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await asyncio.sleep(0.2)
    status, again = await _post(app, "county_leader", settings, FIXED[0])
    assert status == 200 and again == body
