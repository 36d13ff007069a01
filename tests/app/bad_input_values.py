"""Scalar values for the bad-input property tests: well-formed but odd, and malformed, for
every scalar of the schema; the generated documents."""

from __future__ import annotations

import base64
import datetime as dt

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, nodes, queries

from policies.permissions import Role
from resolvers.common.pagination import encode_cursor
from tests.app.bad_input_support import *
from tests.helpers import TESTER, global_id

# -- scalar values: well-formed but odd, and malformed --------------------------------------


def _strings(values: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return st.sampled_from(values).map(nodes.String)


def _floats(values: list[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return st.sampled_from(values).map(lambda value: graphql.FloatValueNode(value=value))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Literals of the wrong kind for a string-based scalar, and huge numbers.
WRONG_LITERALS = st.one_of(
    st.sampled_from([0, -1, 20140110, 2**31, 10**40]).map(nodes.Int),
    _floats(["1e309", "-1e309", "0.5", "1e-400"]),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.List([nodes.String("2014-01-10")])),
    st.just(nodes.Object([])),
)

# Each scalar: what parses (odd values included: they must reach the resolvers and be
# answered there), and what does not (refused while the document is validated).
DATES = st.one_of(
    # Near today, as real clients send them (later days are in the future).
    st.dates(dt.date(2013, 1, 1), dt.date(2027, 12, 31)).map(lambda d: nodes.String(d.isoformat())),
    # The whole calendar, to its ends.
    st.dates().map(lambda d: nodes.String(d.isoformat())),
    _strings(["0001-01-01", "9999-12-31", "2016-02-29", "20140110", "2014-W02-5"]),
)
BAD_DATES = st.one_of(
    _strings(
        [
            "2014-02-30",
            "2014-02-29",
            "2014-13-45",
            "2014-00-10",
            "0000-01-01",
            "10000-01-01",
            "-2014-01-10",
            "yesterday",
            "today",
            "",
            " 2014-01-10",
            "2014-1-1",
            "2014-01-10T00:00:00",
            "２０１４-０１-１０",
            "2014-01-10\x00",
        ]
    ),
    WRONG_LITERALS,
)
DATETIMES = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.one_of(st.none(), st.timezones()),
    ).map(lambda d: nodes.String(d.isoformat())),
    _strings(
        [
            "2014-01-10T08:00:00",
            "2014-01-10T08:00:00+08:00",
            "2014-01-10T08:00:00Z",
            "2014-01-10",
            "0001-01-01T00:00:00",
            "0001-01-02T00:00:00+14:00",
            "9999-12-31T23:59:59.999999",
            "9999-12-30T23:59:59-14:00",
        ]
    ),
)
BAD_DATETIMES = st.one_of(
    _strings(
        [
            "2014-02-30T00:00:00",
            "2014-01-10T25:00:00",
            "2014-01-10T08:00:00+25:00",
            "now",
            "yesterday",
            "",
        ]
    ),
    WRONG_LITERALS,
)
DECIMALS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(nodes.String),
    _strings(
        [
            "0",
            "0.01",
            "100.50",
            "1000000",
            "1000000.01",
            "-0",
            "-1",
            "0.001",
            "NaN",
            "-NaN",
            "sNaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "1E+999999999",
            "1e-400",
            "9" * 400,
            "0." + "0" * 400 + "1",
        ]
    ),
    # Decimal takes numbers too.
    st.sampled_from([0, 100, -5, 10**40]).map(nodes.Int),
    _floats(["0.5", "1e309", "100.505"]),
)
BAD_DECIMALS = st.one_of(
    _strings(["abc", "", "1,5", "1_000x", "０.５"]),
    st.booleans().map(nodes.Boolean),
    st.just(nodes.List([nodes.String("1")])),
)

NODE_TYPES = [
    "Area",
    "Household",
    "Cadre",
    "Department",
    "Visit",
    "Meeting",
    "Suggestion",
    "LedgerItem",
    "AuditEntry",
    "User",
]
# Row ids are small: every test starts from emptied tables (ids restart at 1).
IDS = st.one_of(
    st.builds(global_id, st.sampled_from(NODE_TYPES), st.integers(1, 12)).map(nodes.String),
    st.builds(
        global_id,
        st.sampled_from(NODE_TYPES),
        st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, 10**30]),
    ).map(nodes.String),
    _strings(
        [
            b64("Area:abc"),
            b64("Area:"),
            b64(":"),
            b64("Area:1:2"),
            b64("Area: 1"),
            b64("Area:1e3"),
            "QXJlYTox",  # "Area:1" without padding
            "QXJlYTox=",
            "!!!",
            "",
            "Area:1",
            "1",
            "\x00",
            "Zm9v",  # "foo"
            base64.b64encode(b"\xff\xfe:1").decode(),
        ]
    ),
    st.text(max_size=20).map(nodes.String),
    # ID takes integers too.
    st.sampled_from([1, 0, -1, 2**31 - 1]).map(nodes.Int),
)
BAD_IDS = st.one_of(_floats(["1.5", "1e309"]), st.booleans().map(nodes.Boolean))

MIN_INT, MAX_INT = -(2**31), 2**31 - 1
INTS = st.one_of(
    st.integers(MIN_INT, MAX_INT).map(nodes.Int),
    st.sampled_from([0, 1, -1, 20, 99, 100, 101, 1000, 1001, 5000, 5001, MAX_INT, MIN_INT]).map(
        nodes.Int
    ),
)
BAD_INTS = st.one_of(
    st.sampled_from([MAX_INT + 1, MIN_INT - 1, 10**40]).map(nodes.Int),
    _floats(["1.5", "1e3"]),
    _strings(["10", "ten"]),
)

IDEMPOTENCY_KEYS = [f"fuzz-key-{n:04d}" for n in range(4)]
GOOD_DOCUMENT = "query Me { me { username } }"
CSV_SHEET = b64(
    "ledger,category,area_code,group,title,received_on,received_by\n"
    "livelihood,road,519902101001,一组,导入,2014-01-09,李四\n"
)
STRINGS = st.one_of(
    _strings(
        [
            *IDEMPOTENCY_KEYS,
            "short",
            "k" * 128,
            "k" * 129,
            "key\twith\ttabs",
            # ledgers, categories, reasons
            "livelihood",
            "hardship",
            "stability",
            "key_work",
            "petition",
            "needy_employee",
            "water",
            "road",
            "illness",
            "disaster",
            "veterans",
            "other",
            "LIVELIHOOD",
            "ledger.*",
            # roles, objects, actions, effects, users
            *[role.value for role in Role],
            "area",
            "household",
            "household.pii",
            "visit",
            "visit.write",
            "ledger.hardship.read",
            "query.adhoc",
            "read",
            "write",
            "allow",
            "deny",
            "maybe",
            TESTER,
            "nobody",
            "recordVisit",
            # codes, names, files
            "519902",
            "519902101001",
            "519902101002",
            "测试村",
            "一组",
            "001",
            "x.xlsx",
            "x.csv",
            "x.txt",
            "../../etc/passwd",
            CSV_SHEET,
            "UEsDBBQ=",  # the start of a zip file, and nothing more
            # documents for saveQuery
            GOOD_DOCUMENT,
            "query Q($d: Date) { areas { rollup(from: $d) { households } } }",
            'mutation M { createUser(username: "x") { username } }',
            "query A { me { username } } query B { me { username } }",
            "{",
            "subscription S { me }",
            # cursors
            encode_cursor(1),
            encode_cursor(0),
            encode_cursor(2**31 - 1),
            b64("cursor:-1"),
            b64("cursor:abc"),
            b64("nope"),
            # sizes and odd characters
            "",
            " ",
            "x" * 201,
            "x" * 2001,
            "长" * 5000,
            "\u202e\u200b",
            "'; DROP TABLE areas; --",
            "%_\\",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30).map(nodes.String),
)

# Inputs that once met a service bug, each pinned by the plain test named beside it.
REGRESSION_STRINGS = [
    "with a \x00 NUL",  # test_nul_characters_in_text_are_answered (PostgreSQL)
    encode_cursor(2**31),  # test_a_cursor_past_the_largest_row_id_is_answered
    encode_cursor(10**30),
]
REGRESSION_DATETIMES = [
    "0001-01-01T00:00:00+14:00",  # test_datetimes_whose_utc_is_outside_the_calendar_...
    "9999-12-31T23:59:59-14:00",
]
REGRESSION_IDS = [b64("Household:²"), b64("Area:１")]  # test_an_id_with_..._digit..._nothing

SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": DATES,
    "DateTime": DATETIMES | _strings(REGRESSION_DATETIMES),
    "Decimal": DECIMALS,
    "ID": IDS | _strings(REGRESSION_IDS),
    "Int": INTS,
    "String": STRINGS | _strings(REGRESSION_STRINGS),
}
# Every scalar may also come malformed: such a document is refused as a whole.
WILD_SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "Date": DATES | BAD_DATES,
    "DateTime": DATETIMES | BAD_DATETIMES,
    "Decimal": DECIMALS | BAD_DECIMALS,
    "ID": IDS | BAD_IDS,
    "Int": INTS | BAD_INTS,
    "String": STRINGS,
}

QUERIES = queries(SDL, custom_scalars=SCALARS)
MUTATIONS = mutations(SDL, custom_scalars=SCALARS)
WILD_DOCUMENTS = from_schema(SDL, custom_scalars=WILD_SCALARS)
INVALID_DOCUMENTS = from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE)
