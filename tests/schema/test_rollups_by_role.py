"""Every field of ``Rollup``, with and without each of its arguments and a window,
answers without an error for every role of the matrix — at the county and at a
village, through ``area(code:)`` (ordinary execution, then the compiled path),
``node`` and ``areas``.

The fields and arguments are read from the schema: a new field is tested as it
appears, and a new argument fails this suite until it has values below.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLType,
    get_named_type,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.settings import Settings
from policies.permissions import Role
from schema.root import schema
from tests.conftest import SHIPPED, token_for
from tests.helpers import Tree, global_id, gql, grant, make_tree
from tests.schema.ledger_api import act, item_input, new_key, record_item

WINDOW = '(from: "2014-01-01", to: "2014-01-31")'
# Values for every argument of the rollup and its fields (besides null, always tried).
ARGUMENTS: dict[str, list[str]] = {
    "Area.rollup(from)": ['"2014-02-15"'],
    "Area.rollup(to)": ['"2014-01-31"'],
    "Rollup.items(ledgers)": [
        '["livelihood"]',
        '["livelihood", "hardship", "key_work"]',
        '["stability", "petition"]',
        '["nosuch"]',
        "[]",
    ],
    "Rollup.overdueItems(asOf)": ['"2014-03-01"', '"2013-01-01"'],
}


def _unwrap(type_: GraphQLType) -> GraphQLType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def rollup_selections() -> list[str]:
    """One selection per field of Rollup, and one per value of each of its arguments."""
    rollup = schema._schema.type_map["Rollup"]
    assert isinstance(rollup, GraphQLObjectType)
    found = []
    for name, field in rollup.fields.items():
        inner = _unwrap(field.type)
        sub = ""
        if isinstance(inner, GraphQLObjectType):
            sub = " { " + " ".join(inner.fields) + " }"
        found.append(name + sub)
        for arg in field.args:
            for value in ARGUMENTS[f"Rollup.{name}({arg})"]:
                found.append(f"{name}({arg}: {value}){sub}")
    return found


def test_every_rollup_argument_has_values() -> None:
    rollup = schema._schema.type_map["Rollup"]
    area = schema._schema.type_map["Area"]
    assert isinstance(rollup, GraphQLObjectType) and isinstance(area, GraphQLObjectType)
    arguments = {f"Rollup.{n}({a})" for n, f in rollup.fields.items() for a in f.args}
    arguments |= {f"Area.rollup({a})" for a in area.fields["rollup"].args}
    assert arguments == set(ARGUMENTS)
    assert get_named_type(area.fields["rollup"].type).name == "Rollup"


def test_the_roles_are_the_matrix() -> None:
    assert {rule.role for rule in SHIPPED} == {role.value for role in Role}


def windows() -> list[str]:
    """No window, the full window, and each bound alone."""
    return [
        "",
        WINDOW,
        *(f"({arg}: {ARGUMENTS[f'Area.rollup({arg})'][-1]})" for arg in ("from", "to")),
    ]


async def _world(client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    """As the county leader: visits, a meeting, items of village, restricted and
    department ledgers in every state the handling reaches."""
    tree = await make_tree(sessionmaker)
    household, cadre = global_id("Household", tree.household_id), global_id("Cadre", tree.cadre_id)
    for day, kind in (("2014-01-20", "ROUTINE"), ("2014-02-03", "CONDOLENCE")):
        extra = {"condolenceAmount": "200", "peopleVisited": 2} if kind == "CONDOLENCE" else {}
        await gql(
            client,
            "mutation ($i: RecordVisitInput!) { recordVisit(input: $i) { visit { id } } }",
            {
                "i": {
                    "householdId": household,
                    "cadreId": cadre,
                    "visitedOn": day,
                    "kind": kind,
                    "idempotencyKey": new_key(),
                    **extra,
                }
            },
        )
    await gql(
        client,
        "mutation ($i: RecordMeetingInput!) { recordMeeting(input: $i) { meeting { id } } }",
        {
            "i": {
                "areaId": global_id("Area", tree.group_id),
                "heldOn": "2014-01-21",
                "hostCadreId": cadre,
                "attendeeCount": 10,
                "topic": "议事",
                "suggestions": ["修路"],
                "idempotencyKey": new_key(),
            }
        },
    )
    department = global_id("Department", tree.department_id)
    for overrides in (
        {},
        {"ledger": "hardship", "category": None, "reasons": ["illness", "disaster"]},
        {"ledger": "stability", "category": "land_acquisition"},
        {"ledger": "key_work", "category": "service_style", "departmentId": department},
        {
            "ledger": "petition",
            "category": "land_acquisition",
            "departmentId": department,
            "householdId": None,
        },
    ):
        payload = await record_item(client, item_input(tree, **overrides))
        assert payload["errors"] == [], payload
        result = await act(client, tree, "assign", payload["item"]["id"], on="2014-01-24")
        assert result["errors"] == [], result
    return tree


# (role, where it is granted, with the department) — every role of the matrix.
GRANTS = [
    (role.value, place, role is Role.DEPARTMENT_CADRE)
    for role in Role
    for place in ("county", "village")
]
GRANTS.append((Role.DEPARTMENT_CADRE.value, "village", False))


def _grant_id(grant_: tuple[str, str, bool]) -> str:
    role, place, department = grant_
    return f"{role}@{place}" + ("+department" if department else "")


@pytest.mark.parametrize("granted", GRANTS, ids=_grant_id)
async def test_every_rollup_field_answers_for_the_role(
    granted: tuple[str, str, bool],
    app: Starlette,
    settings: Settings,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    role, place, with_department = granted
    tree = await _world(client, sessionmaker)
    area_id = tree.county_id if place == "county" else tree.village_id
    code = "519902" if place == "county" else "519902101001"
    await grant(
        sessionmaker, "viewer", role, area_id, tree.department_id if with_department else None
    )
    if not any(r.role == role and r.obj == "query.adhoc" for r in SHIPPED):
        await _allow_adhoc(app, settings, sessionmaker, tree, role)
    headers = {"authorization": f"Bearer {token_for(settings, 'viewer')}"}
    gid = global_id("Area", area_id)
    selections = rollup_selections()
    everything = " ".join(s for s in selections if "(" not in s.split("{")[0])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as http:
        # Each field alone (its own statement shape) without and with a window; all of
        # them together in every window, by every path.
        plan = [(w, s) for w in ("", WINDOW) for s in selections]
        plan += [(w, everything) for w in windows()]
        for window, selection in plan:
            rollup = f"rollup{window} {{ {selection} }}"
            by_code = (
                f'{{ area(code: "{code}") {{ id {rollup} '
                f"children {{ code {rollup} children {{ {rollup} }} }} }} }}"
            )
            ordinary = await _answer(http, by_code)
            assert ordinary["area"] is not None
            if selection is not everything:
                continue
            # The second time, the compiled path answers the same text.
            assert await _answer(http, by_code) == ordinary, f"{role}: compiled path differs"
            elsewhere = (
                f'{{ node(id: "{gid}") {{ ... on Area {{ {rollup} }} }} '
                f'areas(under: "{gid}") {{ code {rollup} }} }}'
            )
            await _answer(http, elsewhere)


async def _allow_adhoc(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
    role: str,
) -> None:
    """Let a saved-queries-only role send documents of its own (query.adhoc is no data
    right: its scopes are unchanged), through the API so every process has it."""
    await grant(sessionmaker, "boss", "admin", tree.county_id)
    headers = {"authorization": f"Bearer {token_for(settings, 'boss')}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    ) as boss:
        changed = await gql(
            boss,
            f"""mutation {{ setPolicyRule(role: "{role}", object: "query.adhoc",
              action: "read", effect: "allow") {{ changed errors {{ code }} }} }}""",
        )
    assert changed["setPolicyRule"] == {"changed": True, "errors": []}


async def _answer(http: httpx.AsyncClient, document: str) -> Any:
    response = await http.post("/graphql", json={"query": document})
    body = response.json()
    assert response.status_code == 200, (document, body)
    assert "errors" not in body, (document, body)
    return body["data"]
