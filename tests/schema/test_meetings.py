"""Courtyard meetings, suggestions, and condolence visits through the API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Meeting, Suggestion
from tests.helpers import Tree, global_id, gql, make_tree

RECORD_MEETING = """
mutation ($i: RecordMeetingInput!) { recordMeeting(input: $i) {
  replayed
  meeting { id heldOn attendeeCount topic area { id } host { id } suggestions { id content } }
  errors { __typename ... on UserError { field } }
} }
"""
ADD_SUGGESTION = """
mutation ($i: AddSuggestionInput!) { addSuggestion(input: $i) {
  suggestion { id content household { id } meeting { id } }
  errors { __typename ... on UserError { field } }
} }
"""
RECORD_VISIT = """
mutation ($i: RecordVisitInput!) { recordVisit(input: $i) {
  visit { kind condolenceAmount peopleVisited }
  errors { __typename ... on UserError { field } }
} }
"""


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> Tree:
    return await make_tree(sessionmaker)


def meeting_input(tree: Tree, **overrides: Any) -> dict[str, Any]:
    values = {
        "areaId": global_id("Area", tree.village_id),
        "heldOn": "2014-01-18",
        "hostCadreId": global_id("Cadre", tree.cadre_id),
        "attendeeCount": 46,
        "topic": "饮水和道路",
        "suggestions": ["修通三组道路", "解决饮水问题"],
        "idempotencyKey": "meeting-0001",
    }
    return values | overrides


async def test_meeting_with_suggestions(client: httpx.AsyncClient, tree: Tree) -> None:
    payload = (await gql(client, RECORD_MEETING, {"i": meeting_input(tree)}))["recordMeeting"]
    meeting = payload["meeting"]
    assert payload["errors"] == []
    assert [s["content"] for s in meeting["suggestions"]] == ["修通三组道路", "解决饮水问题"]
    again = (await gql(client, RECORD_MEETING, {"i": meeting_input(tree)}))["recordMeeting"]
    assert again["replayed"] is True and again["meeting"]["id"] == meeting["id"]
    added = await gql(
        client,
        ADD_SUGGESTION,
        {
            "i": {
                "meetingId": meeting["id"],
                "content": "建村级文化室",
                "householdId": global_id("Household", tree.household_id),
                "idempotencyKey": "suggest-0001",
            }
        },
    )
    suggestion = added["addSuggestion"]["suggestion"]
    assert suggestion["meeting"]["id"] == meeting["id"]
    listed = await gql(
        client,
        "query ($id: ID!) { node(id: $id) { ... on Area { meetings { edges { node { "
        "id suggestions { content } } } } } } }",
        {"id": global_id("Area", tree.county_id)},
    )
    [edge] = listed["node"]["meetings"]["edges"]
    assert len(edge["node"]["suggestions"]) == 3


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"areaId": "QXJlYTo5OTk5OQ=="}, [("UnknownArea", "areaId")]),
        ({"attendeeCount": -1}, [("OutOfRange", "attendeeCount")]),
        ({"heldOn": "2999-01-01"}, [("DateInFuture", "heldOn")]),
        ({"topic": ""}, [("Required", "topic")]),
        ({"suggestions": ["ok", " "]}, [("Required", "suggestions")]),
        ({"hostCadreId": "bad"}, [("UnknownCadre", "hostCadreId")]),
    ],
)
async def test_bad_meeting_writes_nothing(
    client: httpx.AsyncClient,
    tree: Tree,
    sessionmaker: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    payload = await gql(client, RECORD_MEETING, {"i": meeting_input(tree, **overrides)})
    errors = payload["recordMeeting"]["errors"]
    assert [(e["__typename"], e["field"]) for e in errors] == expected
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Meeting)) == 0
        assert await session.scalar(select(func.count()).select_from(Suggestion)) == 0


async def test_meeting_only_in_a_village_community_or_group(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    payload = await gql(
        client,
        RECORD_MEETING,
        {"i": meeting_input(tree, areaId=global_id("Area", tree.township_id))},
    )
    assert payload["recordMeeting"]["errors"] == [
        {"__typename": "WrongAreaLevel", "field": "areaId"}
    ]


async def test_suggestion_household_must_be_in_the_meeting_area(
    client: httpx.AsyncClient, tree: Tree
) -> None:
    meeting = (await gql(client, RECORD_MEETING, {"i": meeting_input(tree)}))["recordMeeting"]
    result = await gql(
        client,
        ADD_SUGGESTION,
        {
            "i": {
                "meetingId": meeting["meeting"]["id"],
                "content": "x",
                "householdId": global_id("Household", tree.other_household_id),
                "idempotencyKey": "suggest-0002",
            }
        },
    )
    assert result["addSuggestion"]["errors"] == [
        {"__typename": "NotInArea", "field": "householdId"}
    ]


def visit_input(tree: Tree, **overrides: Any) -> dict[str, Any]:
    values = {
        "householdId": global_id("Household", tree.household_id),
        "cadreId": global_id("Cadre", tree.cadre_id),
        "visitedOn": "2014-01-28",
        "kind": "CONDOLENCE",
        "condolenceAmount": "500.00",
        "peopleVisited": 3,
        "idempotencyKey": "condolence-1",
    }
    return {k: v for k, v in (values | overrides).items() if v is not None}


async def test_condolence_visit(client: httpx.AsyncClient, tree: Tree) -> None:
    result = (await gql(client, RECORD_VISIT, {"i": visit_input(tree)}))["recordVisit"]
    assert result["errors"] == []
    assert result["visit"] == {
        "kind": "CONDOLENCE",
        "condolenceAmount": "500.00",
        "peopleVisited": 3,
    }


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"condolenceAmount": "-1"}, [("OutOfRange", "condolenceAmount")]),
        ({"condolenceAmount": "0.001"}, [("OutOfRange", "condolenceAmount")]),
        ({"condolenceAmount": "NaN"}, [("OutOfRange", "condolenceAmount")]),
        ({"condolenceAmount": None}, [("Required", "condolenceAmount")]),
        ({"peopleVisited": 0}, [("OutOfRange", "peopleVisited")]),
        (
            {"kind": "ROUTINE"},
            [("NotAllowedHere", "condolenceAmount"), ("NotAllowedHere", "peopleVisited")],
        ),
    ],
)
async def test_bad_condolence_visit(
    client: httpx.AsyncClient,
    tree: Tree,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    result = await gql(client, RECORD_VISIT, {"i": visit_input(tree, **overrides)})
    errors = result["recordVisit"]["errors"]
    assert [(e["__typename"], e["field"]) for e in errors] == expected
