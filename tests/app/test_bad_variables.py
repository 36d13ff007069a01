"""Bad input, continued: variables of the wrong type; invalid dates, amounts and text in
mutation inputs (on SQLite and PostgreSQL; see test_bad_input)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import Visit
from resolvers.common.pagination import encode_cursor
from tests.app.bad_input_support import *
from tests.app.bad_input_values import *
from tests.helpers import TESTER, global_id

# -- variables of the wrong type ------------------------------------------------------------

HOUSEHOLDS_PAGE = """
query Page($area: ID!, $first: Int) {
  node(id: $area) { ... on Area { households(first: $first) { edges { node { id } } } } }
}"""
ROLLUP = "query Rollup($from: Date) { areas(level: COUNTY) { rollup(from: $from) { households } } }"
AUDIT = "query Audit($since: DateTime) { auditEvents(since: $since) { edges { cursor } } }"
AUDIT_PAGE = "query Audit($after: String) { auditEvents(after: $after) { edges { cursor } } }"


async def test_variables_of_the_wrong_type_are_refused_before_execution(
    world: World, subtests: pytest.Subtests
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        *[
            (HOUSEHOLDS_PAGE, {"first": value})
            for value in ["ten", "10", 1.5, 2**31, 10**40, True, [1], {"value": 1}]
        ],
        *[
            (ROLLUP, {"from": value})
            for value in [
                "2014-13-45",
                "2014-02-30",
                "yesterday",
                "",
                "0000-01-01",
                20140110,
                10**40,
                1e308,
                ["2014-01-10"],
                {"year": 2014},
            ]
        ],
        *[
            (AUDIT, {"since": value})
            for value in ["2014-02-30T00:00:00", "now", "2014-01-10T08:00:00+25:00", 1389312000]
        ],
        *[(NODE, {"id": value}) for value in [12.5, True, None, ["QXJlYTox"], {"id": 1}]],
        (NODE, {}),
        (NODES, {"ids": 1.5}),
        (NODES, {"ids": [None]}),
    ]
    area = global_id("Area", world.tree.village_id)
    for query, variables in cases:
        for accept in ("application/json", GRAPHQL_RESPONSE):
            with subtests.test(query=query.split("(")[0], variables=variables, accept=accept):
                request = {"query": query, "variables": {"area": area, **variables}}
                response = await world.post(AUDITOR, request, accept=accept)
                body = handled(response, request)
                assert "data" not in body and body["errors"], body
                assert response.status_code == (200 if accept == "application/json" else 400)


async def test_an_integer_id_is_taken_and_names_nothing(world: World) -> None:
    """GraphQL's ID accepts integers; ``12`` is no global id, so nothing is found."""
    for value in (12, 0, -1, 2**31 - 1):
        assert await world.gql(TESTER, NODE, {"id": value}) == {"data": {"node": None}}, value


CONNECTIONS = """
query Pages($after: String, $area: ID!) {
  node(id: $area) {
    ... on Area {
      households(after: $after) { edges { cursor } }
      cadres(after: $after) { edges { cursor } }
      meetings(after: $after) { edges { cursor } }
      ledgerItems(after: $after) { edges { cursor } }
    }
  }
}"""


async def test_a_cursor_that_is_no_cursor_is_an_argument_error(world: World) -> None:
    area = global_id("Area", world.tree.county_id)
    for after in ["nope", b64("cursor:-1"), b64("cursor:x"), b64("offset:1"), "", "长"]:
        body = {"query": CONNECTIONS, "variables": {"after": after, "area": area}}
        found = handled(await world.post(TESTER, body), body)
        messages = {error["message"] for error in found["errors"]}
        assert messages == {"`after` is not a cursor this connection gave out"}, (after, found)


async def test_a_cursor_past_the_largest_row_id_is_answered(world: World) -> None:
    area = global_id("Area", world.tree.county_id)
    problems = []
    for row_id in (2**31, 2**63, 10**30):
        for username, query in [(TESTER, CONNECTIONS), (AUDITOR, AUDIT_PAGE)]:
            body = {"query": query, "variables": {"after": encode_cursor(row_id), "area": area}}
            try:
                handled(await world.post(username, body), body)
            except AssertionError as error:
                problems.append(f"cursor:{row_id} as {username}: {error}")
    assert not problems, "\n".join(problems)


async def test_datetimes_at_the_ends_of_the_calendar_are_answered(
    world: World, subtests: pytest.Subtests
) -> None:
    for since in ["0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "0001-01-02T00:00:00+14:00"]:
        with subtests.test(since=since):
            request = {"query": AUDIT, "variables": {"since": since}}
            handled(await world.post(AUDITOR, request), request)


async def test_datetimes_whose_utc_is_outside_the_calendar_are_answered(world: World) -> None:
    """Valid times whose UTC lies before year 1 or after 9999: an answer, not a failure."""
    problems = []
    for since in ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]:
        for argument in ("since", "until"):
            query = AUDIT.replace("since", argument)
            body = {"query": query, "variables": {argument: since}}
            try:
                handled(await world.post(AUDITOR, body), body)
            except AssertionError as error:
                problems.append(str(error))
    assert not problems, "\n".join(problems)


ROLLUP_WINDOW = """
query Window($from: Date, $to: Date) {
  areas(level: COUNTY) {
    rollup(from: $from, to: $to) {
      windowFrom windowTo personVisits weeklyVisits { week visits } overdueItems
    }
  }
}"""


async def test_rollup_windows_at_the_ends_of_the_calendar_are_answered(
    seeded: World, subtests: pytest.Subtests
) -> None:
    windows = [
        ("0001-01-01", "9999-12-31"),
        ("9999-12-31", "0001-01-01"),
        ("2014-01-10", "2014-01-09"),
        ("9999-12-31", None),
        (None, "0001-01-01"),
    ]
    for start, end in windows:
        with subtests.test(start=start, end=end):
            request = {"query": ROLLUP_WINDOW, "variables": {"from": start, "to": end}}
            body = handled(await seeded.post(TESTER, request), request)
            assert "data" in body, body


async def test_overdue_as_of_the_ends_of_the_calendar_is_answered(
    seeded: World, subtests: pytest.Subtests
) -> None:
    query = """
    query Overdue($item: ID!, $asOf: Date!) {
      node(id: $item) { ... on LedgerItem { overdue(asOf: $asOf) deadline } }
      areas(level: COUNTY) { rollup { overdueItems(asOf: $asOf) } }
    }"""
    for as_of in ("0001-01-01", "9999-12-31"):
        with subtests.test(as_of=as_of):
            request = {"query": query, "variables": {"item": seeded.ids["item"], "asOf": as_of}}
            body = handled(await seeded.post(TESTER, request), request)
            assert "data" in body, body


# -- invalid dates, amounts and text in mutation inputs ---------------------------------------


async def test_an_invalid_visit_date_is_refused_before_execution(
    world: World, subtests: pytest.Subtests
) -> None:
    for visited_on in ["2014-02-30", "2014-13-45", "yesterday", "", "2014-1-1", 20140110, None]:
        with subtests.test(variable=visited_on):
            request = {
                "query": RECORD_VISIT,
                "variables": {"input": visit_input(world, visitedOn=visited_on)},
            }
            response = await world.post(TESTER, request, accept=GRAPHQL_RESPONSE)
            body = handled(response, request)
            assert response.status_code == 400 and "data" not in body, body
    tree = world.tree
    household, cadre = global_id("Household", tree.household_id), global_id("Cadre", tree.cadre_id)
    for literal in ['"2014-02-30"', '"2014-13-45"', '"yesterday"', "20140110", "null"]:
        with subtests.test(literal=literal):
            query = f"""
            mutation {{
              recordVisit(input: {{householdId: "{household}", cadreId: "{cadre}",
                                   visitedOn: {literal}, idempotencyKey: "visit-key-0001"}}) {{
                visit {{ id }}
              }}
            }}"""
            request = {"query": query}
            response = await world.post(TESTER, request, accept=GRAPHQL_RESPONSE)
            body = handled(response, request)
            assert response.status_code == 400 and "data" not in body, body


async def test_a_visit_date_in_the_future_is_a_typed_error(world: World) -> None:
    for day in ["9999-12-31", (dt.date.today() + dt.timedelta(days=2)).isoformat()]:
        body = await world.gql(TESTER, RECORD_VISIT, {"input": visit_input(world, visitedOn=day)})
        assert body["data"] == refused_visit("DATE_IN_FUTURE", "visitedOn"), day


async def test_a_condolence_amount_out_of_range_is_a_typed_error(
    world: World, subtests: pytest.Subtests
) -> None:
    amounts = ["NaN", "sNaN", "-NaN", "Infinity", "-1", "1000000.01", "0.001", "1e400", "9" * 400]
    for n, amount in enumerate(amounts):
        with subtests.test(amount=amount):
            visit = visit_input(
                world,
                kind="CONDOLENCE",
                condolenceAmount=amount,
                peopleVisited=2,
                idempotencyKey=f"condolence-{n:04d}",
            )
            body = await world.gql(TESTER, RECORD_VISIT, {"input": visit})
            assert body["data"] == refused_visit("OUT_OF_RANGE", "condolenceAmount")


async def test_a_condolence_amount_that_is_no_number_is_refused_before_execution(
    world: World, subtests: pytest.Subtests
) -> None:
    for amount in ["abc", "", "1,5", True, [1], {"yuan": 1}]:
        with subtests.test(amount=amount):
            visit = visit_input(world, kind="CONDOLENCE", condolenceAmount=amount, peopleVisited=2)
            request = {"query": RECORD_VISIT, "variables": {"input": visit}}
            body = handled(await world.post(TESTER, request), request)
            assert "data" not in body and body["errors"], body


RECORD_ITEM = """
mutation Item($input: RecordLedgerItemInput!) {
  recordLedgerItem(input: $input) {
    item { id deadline } errors { ... on UserError { code field } }
  }
}"""


async def test_an_old_receipt_date_gets_a_deadline(world: World, subtests: pytest.Subtests) -> None:
    tree = world.tree
    for received_on in ["0001-01-01", "1900-01-01", "2014-01-10"]:
        with subtests.test(received_on=received_on):
            item = {
                "ledger": "livelihood",
                "category": "road",
                "title": "路",
                "receivedOn": received_on,
                "receivedById": global_id("Cadre", tree.cadre_id),
                "areaId": global_id("Area", tree.village_id),
                "idempotencyKey": f"item-key-{received_on}",
            }
            payload = (await world.gql(TESTER, RECORD_ITEM, {"input": item}))["data"]
            assert payload["recordLedgerItem"]["errors"] == [], payload
            assert payload["recordLedgerItem"]["item"]["deadline"] > received_on, payload


NUL_TEXT = "before\x00after"
IMPORT_LEDGER = """
mutation Import($village: ID!, $content: String!, $key: String!) {
  importLedger(input: {villageId: $village, fileName: "sheet.csv", content: $content,
                       idempotencyKey: $key}) {
    imported rowErrors { row column } errors { ... on UserError { code field } }
  }
}"""
SET_POLICY_RULE = """
mutation Rule($role: String!) {
  setPolicyRule(role: $role, object: "visit", action: "read", effect: "allow") {
    changed errors { ... on UserError { code field } }
  }
}"""
CSV_COLUMNS = ["ledger", "category", "area_code", "group", "title", "received_on", "received_by"]


def _csv_row(**cells: str) -> dict[str, str]:
    row = {
        "ledger": "livelihood",
        "category": "road",
        "area_code": "519902101001",
        "group": "一组",
        "title": "修路",
        "received_on": "2014-01-09",
        "received_by": "李四",
    }
    return {**row, **cells}


def _sheet(world: World, row: dict[str, str], key: str) -> dict[str, Any]:
    """importLedger's variables for a CSV sheet of one row."""
    lines = [",".join(CSV_COLUMNS), ",".join(row[column] for column in CSV_COLUMNS)]
    content = base64.b64encode("\n".join(lines).encode()).decode()
    village = global_id("Area", world.tree.village_id)
    return {"village": village, "content": content, "key": key}


async def test_nul_characters_in_variables_refuse_the_request(world: World) -> None:
    """PostgreSQL stores and compares no NUL: any text with one is refused, whatever it is."""
    search = "query Q($u: String) { auditEvents(username: $u) { edges { cursor } } }"
    cases: list[tuple[str, str, dict[str, Any]]] = [
        (TESTER, "query Q($a: String!) { me { can(action: $a) } }", {"a": NUL_TEXT}),
        (TESTER, AREA_BY_CODE, {"code": NUL_TEXT}),
        (TESTER, "query Q($n: String!) { savedQuery(name: $n) { name } }", {"n": NUL_TEXT}),
        (AUDITOR, search, {"u": NUL_TEXT}),
        (AUDITOR, search.replace("username", "action"), {"u": NUL_TEXT}),
        (TESTER, RECORD_VISIT, {"input": visit_input(world, notes=NUL_TEXT)}),
        (TESTER, RECORD_VISIT, {"input": visit_input(world, idempotencyKey="nul-key-\x00-0001")}),
        (ADMIN, SET_POLICY_RULE, {"role": NUL_TEXT}),
    ]
    for username, query, variables in cases:
        response = await world.post(username, {"query": query, "variables": variables})
        assert response.status_code == 400, (query, response.text)
        assert response.json() == {
            "errors": [
                {
                    "message": "text may not contain NUL (U+0000) characters",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        }
    async with world.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 0


async def test_nul_characters_in_literals_and_files_are_refused(world: World) -> None:
    literal = 'query { area(code: "before\\u0000after") { name } }'
    response = await world.post(TESTER, {"query": literal}, accept=GRAPHQL_RESPONSE)
    assert response.status_code == 400 and "data" not in response.json()
    assert "NUL" in response.json()["errors"][0]["message"]
    sheet = _sheet(world, _csv_row(title=NUL_TEXT), "nul-import-0001")
    body = await world.gql(TESTER, IMPORT_LEDGER, sheet)
    answer = next(iter(body["data"].values()))
    # A NUL in a cell is that cell's row error (resolvers.common.cells); nothing is imported.
    assert (answer["imported"], answer["errors"]) == (0, []), answer
    assert {"row": 2, "column": "title"} in answer["rowErrors"], answer
