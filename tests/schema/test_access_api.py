"""Access through the API: me/can, explanations, masking, audit, administration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from db.models import AuditEvent
from tests.conftest import token_for
from tests.helpers import Tree, global_id, gql, grant, make_tree
from tests.schema.ledger_api import item_input, record_item

As = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


@pytest.fixture
async def as_user(app: Starlette, settings: Settings) -> AsyncIterator[As]:
    """Clients signed in as a named user."""
    opened: list[httpx.AsyncClient] = []

    async def make(username: str) -> httpx.AsyncClient:
        headers = {"authorization": f"Bearer {token_for(settings, username)}"}
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


ME = """
query ($area: ID, $other: ID) { me {
  username roles { role area { name } }
  visitWriteHere: can(action: "visit.write", area: $area)
  visitWriteThere: can(action: "visit.write", area: $other)
  stabilityHere: can(action: "ledger.stability.read", area: $area)
  anywhere: can(action: "ledger.hardship.write")
  nonsense: can(action: "fly")
} }
"""


async def test_me_and_can(
    tree: Tree, sessionmaker: async_sessionmaker[AsyncSession], as_user: As
) -> None:
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    http = await as_user("vc")
    village, other = global_id("Area", tree.village_id), global_id("Area", tree.other_group_id)
    me = (await gql(http, ME, {"area": village, "other": other}))["me"]
    assert me["username"] == "vc"
    assert me["roles"] == [{"role": "village_cadre", "area": {"name": "测试村"}}]
    assert (me["visitWriteHere"], me["visitWriteThere"]) == (True, False)
    assert (me["stabilityHere"], me["anywhere"], me["nonsense"]) == (False, True, False)


EXPLAIN = """
query ($user: String!, $action: String!, $area: ID!) {
  explainAccess(username: $user, action: $action, area: $area) {
    allowed reasons { role decision policyLines area { name } }
  }
}
"""


async def test_an_administrator_sees_why(
    tree: Tree, sessionmaker: async_sessionmaker[AsyncSession], as_user: As
) -> None:
    await grant(sessionmaker, "boss", "admin", tree.county_id)
    await grant(sessionmaker, "mixed", "township_leader", tree.township_id)
    await grant(sessionmaker, "mixed", "village_cadre", tree.village_id)
    admin = await as_user("boss")
    found = await gql(
        admin,
        EXPLAIN,
        {
            "user": "mixed",
            "action": "ledger.stability.read",
            "area": global_id("Area", tree.group_id),
        },
    )
    explanation = found["explainAccess"]
    assert explanation["allowed"] is False  # the village cadre's deny carves the village out
    decisions = {r["role"]: (r["decision"], r["policyLines"]) for r in explanation["reasons"]}
    assert decisions["township_leader"][0] == "allow"
    assert decisions["village_cadre"] == (
        "deny",
        ["p, village_cadre, ledger.stability, read, deny"],
    )
    # Not for everyone:
    refused = await (await as_user("mixed")).post(
        "/graphql",
        json={
            "query": EXPLAIN,
            "variables": {
                "user": "boss",
                "action": "visit.read",
                "area": global_id("Area", tree.county_id),
            },
        },
    )
    assert refused.json()["errors"][0]["message"] == "you may not read access"


HOUSEHOLD = """
query ($id: ID!) { node(id: $id) { ... on Household {
  headName phone idNumber personalDataMasked } } }
"""


async def test_personal_data_is_masked_without_the_right(
    tree: Tree, sessionmaker: async_sessionmaker[AsyncSession], as_user: As
) -> None:
    async with sessionmaker.begin() as session:
        await session.execute(
            text("UPDATE household SET phone = '13812345678', id_number = '510521198001010011'")
        )
    await grant(sessionmaker, "guide", "guidance_member", tree.county_id)
    household = global_id("Household", tree.household_id)
    masked = (await gql(await as_user("guide"), HOUSEHOLD, {"id": household}))["node"]
    assert masked == {
        "headName": "张*",
        "phone": "138****5678",
        "idNumber": None,
        "personalDataMasked": True,
    }
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    clear = (await gql(await as_user("vc"), HOUSEHOLD, {"id": household}))["node"]
    assert clear["headName"] == "张三" and clear["idNumber"] == "510521198001010011"


async def test_a_department_cadre_sees_only_their_departments_ledgers(
    tree: Tree,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    as_user: As,
) -> None:
    from db.models import Department, DepartmentKind

    async with sessionmaker.begin() as session:
        other = Department(
            county_id=tree.county_id, kind=DepartmentKind.LEADING_ORGAN, name="县委办"
        )
        session.add(other)
        await session.flush()
        other_id = other.id
    ids = {}
    for name, department in (("ours", tree.department_id), ("theirs", other_id)):
        payload = await record_item(
            client,
            item_input(
                tree,
                ledger="key_work",
                category="other",
                areaId=None,
                householdId=None,
                departmentId=global_id("Department", department),
            ),
        )
        ids[name] = payload["item"]["id"]
    await grant(sessionmaker, "dc", "department_cadre", tree.village_id, tree.department_id)
    http = await as_user("dc")
    node = "query ($id: ID!) { node(id: $id) { id } }"
    assert (await gql(http, node, {"id": ids["ours"]}))["node"] is not None
    assert (await gql(http, node, {"id": ids["theirs"]}))["node"] is None


async def test_partial_view_is_marked(
    tree: Tree,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    as_user: As,
) -> None:
    await record_item(client, item_input(tree, ledger="stability", category="land_acquisition"))
    await grant(sessionmaker, "mixed", "township_leader", tree.township_id)
    await grant(sessionmaker, "mixed", "village_cadre", tree.village_id)
    query = """query ($id: ID!) { node(id: $id) { ... on Area {
      ledgerItems(filter: {ledgers: ["stability"]}) { totalCount partial } } } }"""
    view = await gql(await as_user("mixed"), query, {"id": global_id("Area", tree.township_id)})
    assert view["node"]["ledgerItems"] == {"totalCount": 0, "partial": True}
    whole = await gql(client, query, {"id": global_id("Area", tree.township_id)})
    assert whole["node"]["ledgerItems"] == {"totalCount": 1, "partial": False}


AUDIT = """
query ($action: String) { auditEvents(action: $action, first: 100) {
  edges { node { event { action objectType rows userId } } } } }
"""


async def test_writes_and_restricted_reads_are_audited(
    tree: Tree,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    as_user: As,
) -> None:
    stability = await record_item(client, item_input(tree, ledger="stability", category="veterans"))
    await gql(client, "query ($id: ID!) { node(id: $id) { id } }", {"id": stability["item"]["id"]})
    await gql(
        client,
        "query ($id: ID!) { node(id: $id) { ... on Area { "
        "ledgerItems { totalCount edges { node { id } } } } } }",
        {"id": global_id("Area", tree.village_id)},
    )
    await grant(sessionmaker, "aud", "auditor", tree.county_id)
    auditor = await as_user("aud")
    events = [e["node"]["event"] for e in (await gql(auditor, AUDIT, {}))["auditEvents"]["edges"]]
    actions = [e["action"] for e in events]
    assert "recordLedgerItem" in actions
    assert "read:node" in actions and "read:ledgerItems" in actions
    assert all(e["rows"] >= 1 for e in events)
    # Nobody else reads it, and nothing in the API changes it.
    denied = await client.post("/graphql", json={"query": AUDIT})
    assert denied.json()["errors"][0]["message"] == "you may not read the audit trail"
    mutations = (
        await client.post(
            "/graphql", json={"query": '{ __type(name: "Mutation") { fields { name } } }'}
        )
    ).json()["data"]["__type"]["fields"]
    assert not [f["name"] for f in mutations if "audit" in f["name"].lower()]


async def test_audit_rows_cannot_be_changed_in_postgres(
    tree: Tree,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    database_url: str,
) -> None:
    await record_item(client, item_input(tree))
    if not database_url.startswith("postgresql"):
        pytest.skip("the append-only trigger is PostgreSQL's; SQLite has no roles to protect from")
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessionmaker.begin() as session:
            await session.execute(text("UPDATE audit_event SET rows = 0"))
    async with sessionmaker() as session:
        assert (await session.scalar(select(func.count()).select_from(AuditEvent)) or 0) >= 1


ADMIN = """
mutation ($role: String!, $area: ID!) {
  createUser(username: "newbie") { username errors { __typename } }
  grantRole(username: "newbie", role: $role, area: $area) {
    changed errors { __typename ... on UserError { message } } }
}
"""


async def test_administration_and_live_policy_changes(
    tree: Tree, sessionmaker: async_sessionmaker[AsyncSession], as_user: As
) -> None:
    await grant(sessionmaker, "boss", "admin", tree.county_id)
    admin = await as_user("boss")
    done = await gql(
        admin, ADMIN, {"role": "village_cadre", "area": global_id("Area", tree.village_id)}
    )
    assert done["grantRole"] == {"changed": True, "errors": []}
    newbie = await as_user("newbie")
    hardship = (
        "query ($a: ID!) { node(id: $a) { ... on Area { "
        'ledgerItems(filter: {ledgers: ["hardship"]}) { totalCount } } } }'
    )
    village = global_id("Area", tree.village_id)
    assert (await gql(newbie, hardship, {"a": village}))["node"] is not None
    # Deny hardship reading to village cadres: the next request already obeys.
    change = """mutation { setPolicyRule(role: "village_cadre", object: "ledger.hardship",
      action: "read", effect: "deny") { changed errors { __typename } } }"""
    assert (await gql(admin, change, {}))["setPolicyRule"]["changed"] is True
    refused = await newbie.post("/graphql", json={"query": hardship, "variables": {"a": village}})
    assert refused.json()["errors"][0]["message"] == "unknown ledger 'hardship'"
    # A non-administrator cannot do any of it.
    attempt = await newbie.post("/graphql", json={"query": change})
    assert attempt.json()["data"]["setPolicyRule"]["errors"] == [{"__typename": "NotAllowedHere"}]


async def test_revoking_takes_effect_on_the_next_request(
    tree: Tree, sessionmaker: async_sessionmaker[AsyncSession], as_user: As
) -> None:
    await grant(sessionmaker, "boss", "admin", tree.county_id)
    await grant(sessionmaker, "vc", "village_cadre", tree.village_id)
    http = await as_user("vc")
    query = "query ($a: ID!) { node(id: $a) { id } }"
    village = global_id("Area", tree.village_id)
    assert (await gql(http, query, {"a": village}))["node"] is not None
    revoke = """mutation ($a: ID!) { revokeRole(username: "vc", role: "village_cadre", area: $a) {
      changed errors { __typename } } }"""
    assert (await gql(await as_user("boss"), revoke, {"a": village}))["revokeRole"]["changed"]
    assert (await gql(http, query, {"a": village}))["node"] is None


async def test_creating_a_user_checks_the_cadre_and_the_name(
    tree: Tree, sessionmaker: async_sessionmaker[AsyncSession], as_user: As
) -> None:
    await grant(sessionmaker, "boss", "admin", tree.county_id)
    admin = await as_user("boss")
    query = """mutation ($c: ID) { createUser(username: "vc2", cadreId: $c) {
      username errors { __typename ... on UserError { field } } } }"""
    unknown = await gql(admin, query, {"c": global_id("Cadre", 99999)})
    assert unknown["createUser"] == {
        "username": None,
        "errors": [{"__typename": "UnknownCadre", "field": "cadreId"}],
    }
    made = await gql(admin, query, {"c": global_id("Cadre", tree.cadre_id)})
    assert made["createUser"] == {"username": "vc2", "errors": []}
    again = await gql(admin, query, {"c": None})
    assert again["createUser"]["errors"] == [{"__typename": "NotAllowedHere", "field": "username"}]
