"""The cases of test_id_arguments: one per argument or input field that names an object,
with who asks, what lies inside and outside their scope, and a made-up id."""

from __future__ import annotations

from tests.schema.id_cases import (
    ACTIONS,
    CREATE_USER,
    GRANT,
    ITEM,
    NODE,
    NODE_CASES,
    REVOKE,
    USER_ERRORS,
    Case,
    _action,
    action_base,
    department_item_base,
    item_base,
    key,
    ledger_filter,
    made_up,
    meeting_base,
    mutation,
    query,
    ref,
    sheet,
    user_mutation,
    visit_base,
)

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
