"""Every argument and input field that names another object — an ID, an area's code,
a ledger or category name — answers for an object outside the caller's scope exactly
as for one that does not exist: the same data, the same errors, the same counts.

The set of such arguments is read from the schema itself, and must equal the table
of cases below: a new id-typed argument fails this suite until it has a case.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import json
from collections.abc import AsyncIterator, Callable
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
from resolvers.ledgers.sheets import write_xlsx
from schema.root import schema
from tests.conftest import token_for
from tests.helpers import global_id, gql, grant, make_tree
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

MADE_UP = 999_999
USER_ERRORS = "errors { __typename ... on UserError { code field message } }"


@dataclasses.dataclass
class World:
    """Two townships of one county and a second county, seen by three scoped users:
    ``village`` (a village cadre of V1), ``department`` (a department cadre of D1 at
    V1) and ``admin`` (an administrator of township T1)."""

    ids: dict[str, str]  # name → global id (or code)
    users: dict[str, httpx.AsyncClient]


_serial = itertools.count(1)


def key() -> str:
    return f"id-arg-{next(_serial):08d}"


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


# -- the cases ------------------------------------------------------------------------

Request = tuple[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Case:
    """How to ask with one value in the argument, as whom, and with which values.

    ``outside`` are real objects outside the user's scope (names in the world, or
    literal values), each answered as ``made_up`` is; ``inside`` is a real object in
    scope, whose answer must differ (so the case does reach the argument).
    """

    user: str
    ask: Callable[[Any], Request]
    inside: str
    outside: tuple[str, ...]
    made_up: str


def mutation(
    field: str, input_type: str, selection: str, base: Callable[[], dict[str, Any]]
) -> Callable[[str], Callable[[Any], Request]]:
    """A mutation taking ``input``; the argument under test is set by the case."""

    def build(field_name: str) -> Callable[[Any], Request]:
        def ask(value: Any) -> Request:
            document = f"""mutation ($i: {input_type}!) {{ {field}(input: $i) {{
              {selection} {USER_ERRORS} }} }}"""
            return document, {"i": {**base(), field_name: value, "idempotencyKey": key()}}

        return ask

    return build


def made_up(type_name: str) -> str:
    return global_id(type_name, MADE_UP)


# Filled per world: the ids are known only then; cases name them and resolve late.
W: dict[str, str] = {}


def ref(name: str) -> str:
    return W[name]


def visit_base() -> dict[str, Any]:
    return {"householdId": ref("H1"), "cadreId": ref("K1"), "visitedOn": "2014-01-23"}


def meeting_base() -> dict[str, Any]:
    return {
        "areaId": ref("V1"),
        "heldOn": "2014-01-22",
        "hostCadreId": ref("K1"),
        "attendeeCount": 8,
        "topic": "议事",
    }


def item_base() -> dict[str, Any]:
    return {
        "ledger": "livelihood",
        "category": "water",
        "title": "饮水",
        "areaId": ref("V1"),
        "householdId": ref("H1"),
        "receivedOn": "2014-01-23",
        "receivedById": ref("K1"),
    }


def department_item_base() -> dict[str, Any]:
    return {
        "ledger": "key_work",
        "category": "service_style",
        "title": "窗口作风",
        "receivedOn": "2014-01-23",
        "receivedById": ref("K1"),
        "departmentId": ref("D1"),
    }


def action_base(extra: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    return lambda: {"itemId": ref("I1"), "actorId": ref("K1"), "on": "2014-01-27", **extra}


ITEM = "replayed item { id status }"
ACTIONS = {
    "LedgerItemActionInput": ("resolveLedgerItemOnTheSpot", {}),
    "AssignLedgerItemInput": ("assignLedgerItem", {"responsibleId": "K1", "method": "上门"}),
    "MakeLedgerItemPlanInput": ("makeLedgerItemPlan", {"plan": "换管"}),
    "EscalateLedgerItemInput": ("escalateLedgerItem", {"toAreaId": "T1"}),
    "DeclineLedgerItemInput": ("declineLedgerItem", {"reason": "不符合政策"}),
    "RateLedgerItemInput": ("rateLedgerItem", {"satisfaction": "SATISFIED"}),
}


def _action(input_type: str) -> Callable[[str], Callable[[Any], Request]]:
    field, extra = ACTIONS[input_type]

    def base() -> dict[str, Any]:
        resolved = {k: (ref(v) if k.endswith("Id") else v) for k, v in extra.items()}
        return action_base(resolved)()

    return mutation(field, input_type, ITEM, base)


def query(document: str, variable: str = "v") -> Callable[[Any], Request]:
    return lambda value: (document, {variable: value})


V1_LEDGER = """query ($f: LedgerItemFilter) { area(code: "519902101001") {
  ledgerItems(filter: $f, first: 50) { totalCount partial edges { node { id } } }
  ledgerMatrix(filter: $f) { ledger category status count } } }"""


def ledger_filter(field: str) -> Callable[[Any], Request]:
    return lambda value: (V1_LEDGER, {"f": {field: value}})


def sheet() -> str:
    return base64.b64encode(write_xlsx([])).decode()


def user_mutation(document: str, **fixed: Any) -> Callable[[str], Callable[[Any], Request]]:
    def build(arg: str) -> Callable[[Any], Request]:
        def ask(value: Any) -> Request:
            values = {k: (ref(v) if k in ("area", "department") else v) for k, v in fixed.items()}
            return document, {**values, "username": values.get("username") or key(), arg: value}

        return ask

    return build


GRANT = f"""mutation ($username: String!, $area: ID!, $department: ID) {{
  grantRole(username: $username, role: "village_cadre", area: $area, department: $department) {{
    changed {USER_ERRORS} }} }}"""
REVOKE = f"""mutation ($username: String!, $area: ID!) {{
  revokeRole(username: $username, role: "village_cadre", area: $area) {{
    changed {USER_ERRORS} }} }}"""
CREATE_USER = f"""mutation ($username: String!, $cadreId: ID) {{
  createUser(username: $username, cadreId: $cadreId) {{ username {USER_ERRORS} }} }}"""
NODE = """query ($v: ID!) { node(id: $v) { __typename id } }"""
NODE_CASES = [  # inside, outside, their type
    ("V1", ("V2", "T2", "V3"), "Area"),
    ("H1", ("H2", "H3"), "Household"),
    ("K1", ("KT1", "K3"), "Cadre"),
    ("D1", ("D2",), "Department"),
    ("VS1", ("VS2",), "Visit"),
    ("M1", ("M2",), "Meeting"),
    ("S1", ("S2",), "Suggestion"),
    ("I1", ("I2", "IS1"), "LedgerItem"),
]
L = "literal:"  # a value given as is, not a name in the world

CASES: dict[str, Case | list[Case]] = {
    # Queries
    "Query.node(id)": [
        Case("village", query(NODE), inside, outside, made_up(type_name))
        for inside, outside, type_name in NODE_CASES
    ],
    "Query.nodes(ids)": Case(
        "village",
        lambda ids: ("query ($v: [ID!]!) { nodes(ids: $v) { __typename id } }", {"v": ids}),
        "list:V1,H1,K1,D1,VS1,M1,S1,I1",
        ("list:V2,H2,KT1,D2,VS2,M2,S2,I2,IS1",),
        "made-up-list:Area,Household,Cadre,Department,Visit,Meeting,Suggestion,LedgerItem,"
        "LedgerItem",
    ),
    "Query.area(code)": Case(
        "village",
        query(
            """query ($v: String!) {
              plain: area(code: $v) { id name code ledgerItems { totalCount } }
              counted: area(code: $v) { id rollup { households items { count } }
                children { rollup { personVisits } } } }"""
        ),
        "V1code",
        ("V2code", "V3code"),
        L + "519902101099",
    ),
    "Query.areas(under)": Case(
        "village",
        query("query ($v: ID) { areas(under: $v) { code rollup { households } } }"),
        "V1",
        ("V2", "T2"),
        made_up("Area"),
    ),
    "Query.explainAccess(area)": Case(
        "admin",
        query(
            """query ($v: ID!) { explainAccess(username: "village", action: "visit.write",
              area: $v) { allowed reasons { role decision } } }"""
        ),
        "V1",
        ("V3", "T2"),
        made_up("Area"),
    ),
    "Me.can(area)": Case(
        "village",
        query(
            """query ($v: ID) { me { w: can(action: "visit.write", area: $v)
              r: can(action: "area.read", area: $v) } }"""
        ),
        "V1",
        ("V2", "T2"),
        made_up("Area"),
    ),
    "LedgerItemFilter.responsibleId": Case(
        "village", ledger_filter("responsibleId"), "K1", ("KT1", "K3"), made_up("Cadre")
    ),
    "LedgerItemFilter.ledgers": Case(
        "village",
        ledger_filter("ledgers"),
        L + "livelihood",
        (L + "stability", L + "petition"),
        L + "nosuch",
    ),
    "LedgerItemFilter.categories": Case(
        "village", ledger_filter("categories"), L + "water", (L + "land_acquisition",), L + "nosuch"
    ),
    "Rollup.items(ledgers)": Case(
        "village",
        query(
            """query ($v: [String!]) { area(code: "519902101001") {
              rollup { items(ledgers: $v) { ledger category status count } } } }"""
        ),
        L + "livelihood",
        (L + "stability", L + "petition"),
        L + "nosuch",
    ),
    # Visits and meetings
    "RecordVisitInput.householdId": Case(
        "village",
        mutation("recordVisit", "RecordVisitInput", "replayed visit { id }", visit_base)(
            "householdId"
        ),
        "H1",
        ("H2", "H3"),
        made_up("Household"),
    ),
    "RecordVisitInput.cadreId": Case(
        "village",
        mutation("recordVisit", "RecordVisitInput", "replayed visit { id }", visit_base)("cadreId"),
        "K1",
        ("KT1", "K3"),
        made_up("Cadre"),
    ),
    "BatchVisitInput.householdId": Case(
        "village",
        lambda v: (
            f"""mutation ($v: [BatchVisitInput!]!, $k: String!) {{
              recordVisits(visits: $v, idempotencyKey: $k) {{ recorded {USER_ERRORS} }} }}""",
            {"v": [{**visit_base(), "householdId": v}], "k": key()},
        ),
        "H1",
        ("H2", "H3"),
        made_up("Household"),
    ),
    "BatchVisitInput.cadreId": Case(
        "village",
        lambda v: (
            f"""mutation ($v: [BatchVisitInput!]!, $k: String!) {{
              recordVisits(visits: $v, idempotencyKey: $k) {{ recorded {USER_ERRORS} }} }}""",
            {"v": [{**visit_base(), "cadreId": v}], "k": key()},
        ),
        "K1",
        ("KT1", "K3"),
        made_up("Cadre"),
    ),
    "RecordMeetingInput.areaId": Case(
        "village",
        mutation("recordMeeting", "RecordMeetingInput", "meeting { id }", meeting_base)("areaId"),
        "V1",
        ("V2", "V3"),
        made_up("Area"),
    ),
    "RecordMeetingInput.hostCadreId": Case(
        "village",
        mutation("recordMeeting", "RecordMeetingInput", "meeting { id }", meeting_base)(
            "hostCadreId"
        ),
        "K1",
        ("KT1", "K3"),
        made_up("Cadre"),
    ),
    "AddSuggestionInput.meetingId": Case(
        "village",
        mutation(
            "addSuggestion",
            "AddSuggestionInput",
            "suggestion { id }",
            lambda: {"meetingId": ref("M1"), "content": "装路灯"},
        )("meetingId"),
        "M1",
        ("M2",),
        made_up("Meeting"),
    ),
    "AddSuggestionInput.householdId": Case(
        "village",
        mutation(
            "addSuggestion",
            "AddSuggestionInput",
            "suggestion { id }",
            lambda: {"meetingId": ref("M1"), "content": "装路灯"},
        )("householdId"),
        "H1",
        ("H2", "H3"),
        made_up("Household"),
    ),
    # Recording ledger items
    **{
        f"RecordLedgerItemInput.{field}": Case(
            "village",
            mutation("recordLedgerItem", "RecordLedgerItemInput", ITEM, item_base)(field),
            inside,
            outside,
            made,
        )
        for field, inside, outside, made in (
            ("receivedById", "K1", ("KT1", "K3"), made_up("Cadre")),
            ("areaId", "V1", ("V2", "V3"), made_up("Area")),
            ("householdId", "H1", ("H2", "H3"), made_up("Household")),
            ("sourceVisitId", "VS1", ("VS2",), made_up("Visit")),
            ("sourceMeetingId", "M1", ("M2",), made_up("Meeting")),
            ("sourceSuggestionId", "S1", ("S2",), made_up("Suggestion")),
            ("ledger", L + "livelihood", (L + "stability", L + "petition"), L + "nosuch"),
            ("category", L + "water", (L + "land_acquisition",), L + "nosuch"),
        )
    },
    "RecordLedgerItemInput.reasons": Case(
        "village",
        mutation(
            "recordLedgerItem",
            "RecordLedgerItemInput",
            ITEM,
            lambda: {**item_base(), "ledger": "hardship", "category": None},
        )("reasons"),
        "literal-list:illness",
        ("literal-list:land_acquisition",),
        "literal-list:nosuch",
    ),
    "RecordLedgerItemInput.departmentId": Case(
        "department",
        mutation("recordLedgerItem", "RecordLedgerItemInput", ITEM, department_item_base)(
            "departmentId"
        ),
        "D1",
        ("D2",),
        made_up("Department"),
    ),
    # Handling
    **{
        f"{input_type}.itemId": Case(
            "village", _action(input_type)("itemId"), "I1", ("I2", "IS1"), made_up("LedgerItem")
        )
        for input_type in ACTIONS
    },
    **{
        f"{input_type}.actorId": Case(
            "village", _action(input_type)("actorId"), "K1", ("KT1", "K3"), made_up("Cadre")
        )
        for input_type in ACTIONS
    },
    "AssignLedgerItemInput.responsibleId": Case(
        "village",
        _action("AssignLedgerItemInput")("responsibleId"),
        "K1",
        ("KT1", "K3"),
        made_up("Cadre"),
    ),
    # An area above the item is a higher body the cadre may report to, seen or not;
    # any other area answers like none.
    "EscalateLedgerItemInput.toAreaId": Case(
        "village",
        _action("EscalateLedgerItemInput")("toAreaId"),
        "T1",
        ("V2", "T2", "V3"),
        made_up("Area"),
    ),
    "EscalateLedgerItemInput.toDepartmentId": Case(
        "village",
        mutation(
            "escalateLedgerItem",
            "EscalateLedgerItemInput",
            ITEM,
            action_base({}),
        )("toDepartmentId"),
        "D1",
        ("D2",),
        made_up("Department"),
    ),
    "ImportLedgerInput.villageId": Case(
        "village",
        mutation(
            "importLedger",
            "ImportLedgerInput",
            "imported replayed",
            lambda: {"fileName": "x.xlsx", "content": sheet()},
        )("villageId"),
        "V1",
        ("V2", "V3"),
        made_up("Area"),
    ),
    # Administration, by an administrator of township T1
    "Mutation.createUser(cadreId)": Case(
        "admin", user_mutation(CREATE_USER)("cadreId"), "K1", ("K3",), made_up("Cadre")
    ),
    "Mutation.grantRole(area)": Case(
        "admin",
        user_mutation(GRANT, username="village")("area"),
        "V1",
        ("V3", "T2"),
        made_up("Area"),
    ),
    "Mutation.grantRole(department)": Case(
        "admin",
        user_mutation(GRANT, username="village", area="V1")("department"),
        "D1",
        ("D2",),
        made_up("Department"),
    ),
    "Mutation.revokeRole(area)": Case(
        "admin",
        user_mutation(REVOKE, username="village")("area"),
        "V1",
        ("V3", "T2"),
        made_up("Area"),
    ),
}


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
