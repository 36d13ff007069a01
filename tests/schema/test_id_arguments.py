"""Every argument and input field that names another object — an ID, an area's code,
a ledger or category name — answers for an object outside the caller's scope exactly
as for one that does not exist: the same data, the same errors, the same counts.

The set of such arguments is read from the schema itself, and must equal the table
of cases (``tests.schema.id_case_table``): a new id-typed argument fails this suite
until it has a case.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from db.models import Area, AreaLevel, Cadre, CadreRank, Department, DepartmentKind, Household
from db.queries import areas as area_queries
from schema.root import schema
from tests.conftest import token_for
from tests.helpers import global_id, gql, grant, make_tree
from tests.schema.id_case_table import CASES, L
from tests.schema.id_cases import USER_ERRORS, Case, W, key, made_up, ref
from tests.schema.ledger_api import RECORD, item_input

# String arguments that name another object (besides every ID-typed one).
NAMING_STRINGS = frozenset({"code", "ledger", "ledgers", "category", "categories", "reasons"})


def _names_an_object(name: str, type_: GraphQLNamedType) -> bool:
    return (
        type_.name == "ID"
        or name in NAMING_STRINGS
        or name.endswith(("Id", "Ids", "Code", "Codes"))
    )


def referencing_arguments() -> set[str]:
    """``Type.field(arg)`` and ``Input.field`` for every argument naming an object."""
    found: set[str] = set()
    for type_name, type_ in schema._schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                for arg_name, arg in field.args.items():
                    if _names_an_object(arg_name, get_named_type(arg.type)):
                        found.add(f"{type_name}.{field_name}({arg_name})")
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                if _names_an_object(field_name, get_named_type(input_field.type)):
                    found.add(f"{type_name}.{field_name}")
    return found


# -- the world ------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    """Two townships of one county and a second county, seen by three scoped users:
    ``village`` (a village cadre of V1), ``department`` (a department cadre of D1 at
    V1) and ``admin`` (an administrator of township T1)."""

    ids: dict[str, str]  # name → global id (or code)
    users: dict[str, httpx.AsyncClient]


async def _build(client: httpx.AsyncClient, sm: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    tree = await make_tree(sm)
    ids: dict[str, str] = {}
    async with sm.begin() as session:
        county = await session.get(Area, tree.county_id)
        other_group = await session.get(Area, tree.other_group_id)
        assert county is not None and other_group is not None
        t2 = await area_queries.create(
            session=session, parent=county, level=AreaLevel.TOWNSHIP, name="别镇", code="519902102"
        )
        v3 = await area_queries.create(
            session=session, parent=t2, level=AreaLevel.VILLAGE, name="别村", code="519902102001"
        )
        g3 = await area_queries.create(
            session=session, parent=v3, level=AreaLevel.GROUP, name="一组"
        )
        c2 = await area_queries.create(
            session=session, parent=None, level=AreaLevel.COUNTY, name="邻县", code="519903"
        )
        k3 = Cadre(name="孙七", rank=CadreRank.TOWNSHIP, area_id=t2.id)
        h3 = Household(group_id=g3.id, number="009", head_name="周八")
        d2 = Department(county_id=c2.id, kind=DepartmentKind.SERVICE_WINDOW, name="邻县民政局")
        session.add_all([k3, h3, d2])
        await session.flush()
        for name, type_name, row_id in (
            ("T1", "Area", tree.township_id),
            ("V1", "Area", tree.village_id),
            ("V2", "Area", other_group.parent_id),
            ("T2", "Area", t2.id),
            ("V3", "Area", v3.id),
            ("H1", "Household", tree.household_id),
            ("H2", "Household", tree.other_household_id),
            ("H3", "Household", h3.id),
            ("K1", "Cadre", tree.cadre_id),
            ("KT1", "Cadre", tree.other_cadre_id),
            ("K3", "Cadre", k3.id),
            ("D1", "Department", tree.department_id),
            ("D2", "Department", d2.id),
        ):
            assert row_id is not None
            ids[name] = global_id(type_name, row_id)
    # As the county leader (``tester``): visits, meetings, suggestions and items in V1 and V2.
    for village, household, suffix in (("V1", "H1", "1"), ("V2", "H2", "2")):
        visit = await gql(
            client,
            "mutation ($i: RecordVisitInput!) { recordVisit(input: $i) { visit { id } } }",
            {
                "i": {
                    "householdId": ids[household],
                    "cadreId": ids["K1"],
                    "visitedOn": "2014-01-20",
                    "idempotencyKey": key(),
                }
            },
        )
        ids[f"VS{suffix}"] = visit["recordVisit"]["visit"]["id"]
        meeting = await gql(
            client,
            """mutation ($i: RecordMeetingInput!) { recordMeeting(input: $i) {
              meeting { id suggestions { id } } } }""",
            {
                "i": {
                    "areaId": ids[village],
                    "heldOn": "2014-01-21",
                    "hostCadreId": ids["K1"],
                    "attendeeCount": 12,
                    "topic": "院坝会",
                    "suggestions": ["修路"],
                    "idempotencyKey": key(),
                }
            },
        )
        ids[f"M{suffix}"] = meeting["recordMeeting"]["meeting"]["id"]
        ids[f"S{suffix}"] = meeting["recordMeeting"]["meeting"]["suggestions"][0]["id"]
    record = [
        ("I1", {}),
        ("IA", {}),
        ("IB", {}),
        ("I2", {"areaId": ids["V2"], "householdId": ids["H2"]}),
        ("IS1", {"ledger": "stability", "category": "land_acquisition"}),
    ]
    for name, overrides in record:
        payload = await gql(client, RECORD, {"input": item_input(tree, **overrides)})
        assert payload["recordLedgerItem"]["errors"] == [], payload
        ids[name] = payload["recordLedgerItem"]["item"]["id"]
    for item, responsible in (("IA", "KT1"), ("IB", "K1")):
        assigned = await gql(
            client,
            f"""mutation ($i: AssignLedgerItemInput!) {{ assignLedgerItem(input: $i) {{
              {USER_ERRORS} }} }}""",
            {
                "i": {
                    "itemId": ids[item],
                    "actorId": ids["K1"],
                    "responsibleId": ids[responsible],
                    "method": "协调",
                    "on": "2014-01-24",
                    "idempotencyKey": key(),
                }
            },
        )
        assert assigned["assignLedgerItem"]["errors"] == []
    ids["V1code"], ids["V2code"], ids["V3code"] = "519902101001", "519902101002", "519902102001"
    return ids


@pytest.fixture
async def world(
    app: Starlette,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[World]:
    ids = await _build(client, sessionmaker)

    def row(name: str) -> int:
        return int(base64.b64decode(ids[name]).decode().split(":")[1])

    await grant(sessionmaker, "village", "village_cadre", row("V1"))
    await grant(sessionmaker, "department", "department_cadre", row("V1"), row("D1"))
    await grant(sessionmaker, "admin", "admin", row("T1"))
    users: dict[str, httpx.AsyncClient] = {}
    async with contextlib.AsyncExitStack() as stack:
        for name in ("village", "department", "admin"):
            headers = {"authorization": f"Bearer {token_for(settings, name)}"}
            users[name] = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
                )
            )
        yield World(ids=ids, users=users)


def _value(spec: str) -> Any:
    """A case's value: a name in the world, a literal, or a list of either."""
    if spec.startswith(L):
        return spec[len(L) :]
    if spec.startswith("literal-list:"):
        return spec.split(":", 1)[1].split(",")
    if spec.startswith("made-up-list:"):
        return [made_up(t) for t in spec.split(":", 1)[1].split(",")]
    if spec.startswith("list:"):
        return [ref(name) for name in spec.split(":", 1)[1].split(",")]
    return W.get(spec, spec)


def _normalised(body: Any, given: Any) -> str:
    """The answer with the given value itself blanked (messages may quote it back)."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    for value in given if isinstance(given, list) else [given]:
        text = text.replace(str(value), "<given>")
    return text


async def _ask(http: httpx.AsyncClient, case: Case, value: Any) -> Any:
    document, variables = case.ask(value)
    response = await http.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    for error in body.get("errors", []):
        assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR", body
        error.get("extensions", {}).pop("requestId", None)
    return body


def test_every_referencing_argument_has_a_case() -> None:
    assert referencing_arguments() == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_outside_the_scope_answers_as_nothing(name: str, world: World) -> None:
    W.clear()
    W.update(world.ids)
    cases = CASES[name]
    for case in cases if isinstance(cases, list) else [cases]:
        http = world.users[case.user]
        made = _value(case.made_up)
        # Twice each: the first call of a document may run ordinary execution and the
        # next the compiled path; both must agree.
        nothing = [_normalised(await _ask(http, case, made), made) for _ in range(2)]
        assert nothing[0] == nothing[1]
        for outside in case.outside:
            value = _value(outside)
            for _ in range(2):
                answer = _normalised(await _ask(http, case, value), value)
                assert answer == nothing[0], f"{name}: {outside} differs from a made-up id"
        inside = _value(case.inside)
        seen = _normalised(await _ask(http, case, inside), inside)
        assert seen != nothing[0], f"{name}: the case does not reach the argument"
