"""Report tables: columns planned from the query, rows flattened from its result."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import graphql
import pytest

from app.report_table import Plan, ReportShapeError, page_info, plan, rows

SCHEMA = graphql.build_schema(
    """
    enum Level { COUNTY TOWN VILLAGE }

    type Rollup { households: Int! people: Int! }

    type PageInfo { hasNextPage: Boolean! endCursor: String }

    type Household { number: String! members: Int! tags: [String!]! }

    type HouseholdEdge { cursor: String! node: Household! }

    type HouseholdConnection {
      pageInfo: PageInfo!
      edges: [HouseholdEdge!]!
      totalCount: Int
    }

    type Area {
      name: String!
      code: String!
      level: Level!
      aliases: [String!]!
      rollup: Rollup
      children: [Area!]!
      households(first: Int, after: String): HouseholdConnection!
    }

    type Query { area(code: String!): Area }
    type Mutation { rename(code: String!, name: String!): Area }
    """
)


def make(query: str, operation_name: str | None = None) -> Plan:
    return plan(SCHEMA, graphql.parse(query), operation_name)


def table(query: str, data: Mapping[str, object]) -> list[dict[str, object]]:
    report = make(query)
    return [dict(zip(report.columns, row, strict=True)) for row in rows(report, data)]


def page(*numbers: str, has_next: bool = False, end: str | None = None) -> dict[str, object]:
    return {
        "pageInfo": {"hasNextPage": has_next, "endCursor": end},
        "edges": [{"cursor": f"c{n}", "node": {"number": n}} for n in numbers],
    }


def test_columns_are_dotted_response_keys_in_document_order() -> None:
    report = make('{ area(code: "1") { name children { name rollup { households } } code } }')
    assert report.columns == (
        "area.name",
        "area.children.name",
        "area.children.rollup.households",
        "area.code",
    )


def test_aliases_name_the_columns_and_the_data_keys() -> None:
    query = '{ a: area(code: "1") { title: name kids: children { title: name } } }'
    data = {"a": {"title": "县", "kids": [{"title": "镇"}]}}
    assert make(query).columns == ("a.title", "a.kids.title")
    assert table(query, data) == [{"a.title": "县", "a.kids.title": "镇"}]


def test_fragments_merge_in_document_order_and_repeated_keys_once() -> None:
    query = """
        query { area(code: "1") { name ...Codes ... on Area { level name } typename: __typename } }
        fragment Codes on Area { code ... { aliases } }
    """
    assert make(query).columns == (
        "area.name",
        "area.code",
        "area.aliases",
        "area.level",
        "area.typename",
    )


def test_repeated_object_fields_merge_their_selections() -> None:
    query = """
        { area(code: "1") { rollup { households } ...R } }
        fragment R on Area { rollup { people } }
    """
    assert make(query).columns == ("area.rollup.households", "area.rollup.people")


def test_one_fragment_may_be_spread_at_several_levels() -> None:
    query = '{ area(code: "1") { ...N children { ...N } } } fragment N on Area { name }'
    assert make(query).columns == ("area.name", "area.children.name")


def test_fragment_spreading_itself_is_refused() -> None:
    query = '{ area(code: "1") { ...A } } fragment A on Area { children { name ...A } }'
    with pytest.raises(ReportShapeError, match="spreads itself"):
        make(query)


def test_connection_drops_edges_and_node_and_skips_page_info_and_cursor() -> None:
    query = """
        query ($after: String) { area(code: "1") { name
          households(after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { cursor node { number } }
          }
        } }
    """
    data = {"area": {"name": "村", "households": {"totalCount": 9, **page("1", "2")}}}
    assert make(query).columns == (
        "area.name",
        "area.households.totalCount",
        "area.households.number",
    )
    assert table(query, data) == [
        {"area.name": "村", "area.households.totalCount": 9, "area.households.number": "1"},
        {"area.name": "村", "area.households.totalCount": 9, "area.households.number": "2"},
    ]


def test_nested_lists_repeat_parent_columns() -> None:
    query = '{ area(code: "1") { name children { name children { name } } } }'
    data = {
        "area": {
            "name": "县",
            "children": [
                {"name": "甲镇", "children": [{"name": "一村"}, {"name": "二村"}]},
                {"name": "乙镇", "children": [{"name": "三村"}]},
            ],
        }
    }
    assert list(rows(make(query), data)) == [
        ["县", "甲镇", "一村"],
        ["县", "甲镇", "二村"],
        ["县", "乙镇", "三村"],
    ]


def test_empty_and_null_lists_keep_their_parent_row() -> None:
    query = '{ area(code: "1") { name children { name children { name } } } }'
    data = {
        "area": {
            "name": "县",
            "children": [{"name": "甲镇", "children": []}, {"name": "乙镇", "children": None}],
        }
    }
    assert list(rows(make(query), data)) == [["县", "甲镇", None], ["县", "乙镇", None]]
    assert list(rows(make(query), {"area": {"name": "县", "children": []}})) == [["县", None, None]]


def test_null_objects_give_blank_columns() -> None:
    query = '{ area(code: "1") { name rollup { households people } children { name } } }'
    report = make(query)
    data: dict[str, object] = {"area": {"name": "村", "rollup": None, "children": []}}
    assert list(rows(report, data)) == [["村", None, None, None]]
    assert list(rows(report, {"area": None})) == [[None, None, None, None]]


def test_sibling_lists_are_concatenated_not_multiplied() -> None:
    query = """
        query { area(code: "1") { name
          children { name }
          households { edges { node { number } } }
        } }
    """
    data = {
        "area": {
            "name": "镇",
            "children": [{"name": "一村"}, {"name": "二村"}],
            "households": page("7", "8", "9"),
        }
    }
    assert list(rows(make(query), data)) == [
        ["镇", "一村", None],
        ["镇", "二村", None],
        ["镇", None, "7"],
        ["镇", None, "8"],
        ["镇", None, "9"],
    ]


def test_scalar_lists_are_one_joined_cell_and_scalars_keep_their_type() -> None:
    query = """
        { area(code: "1") { aliases level
          households { totalCount edges { node { tags members } } } } }
    """
    data = {
        "area": {
            "aliases": ["东村", "老东村"],
            "level": "VILLAGE",
            "households": {
                "totalCount": 2,
                "edges": [
                    {"node": {"tags": ["低保"], "members": 3}},
                    {"node": {"tags": [], "members": 1}},
                ],
            },
        }
    }
    assert list(rows(make(query), data)) == [
        ["东村; 老东村", "VILLAGE", 2, "低保", 3],
        ["东村; 老东村", "VILLAGE", 2, "", 1],
    ]


def test_rows_is_a_lazy_generator() -> None:
    report = make('{ area(code: "1") { children { name } } }')
    children = [{"name": "一村"}, {"name": "二村"}]
    produced = rows(report, {"area": {"children": children}})
    assert inspect.isgenerator(produced)
    assert next(produced) == ["一村"]
    # A row built ahead of time would still say 二村.
    children[1]["name"] = "三村"
    assert list(produced) == [["三村"]]


PAGED = """
    query ($after: String) { area(code: "1") {
      name
      households(first: 2, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { number } }
      }
    } }
"""


def test_paged_connection_is_the_one_with_after_variable_and_page_info() -> None:
    report = make(PAGED)
    assert (report.paged_variable, report.paged_path) == ("after", ("area", "households"))


def test_first_paged_connection_in_document_order_wins() -> None:
    report = make(
        """
        query ($a: String, $b: String) { area(code: "1") {
          first: households(after: $a) { pageInfo { hasNextPage endCursor } totalCount }
          second: households(after: $b) { pageInfo { hasNextPage endCursor } totalCount }
        } }
        """
    )
    assert (report.paged_variable, report.paged_path) == ("a", ("area", "first"))


@pytest.mark.parametrize(
    "households",
    [
        # `after` is a literal: the client fixed the page.
        'households(after: "c1") { pageInfo { hasNextPage endCursor } totalCount }',
        # No cursor to continue from.
        "households(after: $after) { pageInfo { hasNextPage } totalCount }",
        # page_info() reads pageInfo by its field name.
        "households(after: $after) { info: pageInfo { hasNextPage endCursor } totalCount }",
        # No `after` at all.
        "households { pageInfo { hasNextPage endCursor } totalCount }",
    ],
)
def test_connection_without_variable_after_and_page_info_is_not_paged(households: str) -> None:
    report = make(f'query ($after: String) {{ area(code: "1") {{ {households} }} }}')
    assert (report.paged_variable, report.paged_path) == (None, None)
    assert report.columns == ("area.households.totalCount",)


def test_connection_inside_a_list_is_not_paged() -> None:
    report = make(
        """
        query ($after: String) { area(code: "1") { children {
          households(after: $after) { pageInfo { hasNextPage endCursor } edges { node { number } } }
        } } }
        """
    )
    assert (report.paged_variable, report.paged_path) == (None, None)
    assert report.columns == ("area.children.households.number",)


def test_page_info_reads_the_paged_connection() -> None:
    report = make(PAGED)
    data = {"area": {"name": "村", "households": page("1", "2", has_next=True, end="c2")}}
    assert page_info(report, data) == (True, "c2")
    last = {"area": {"name": "村", "households": page("3", end="c3")}}
    assert page_info(report, last) == (False, "c3")


def test_page_info_without_paging_or_connection_is_done() -> None:
    assert page_info(make(PAGED), {"area": None}) == (False, None)
    unpaged = make(
        '{ area(code: "1") { households { pageInfo { hasNextPage endCursor } totalCount } } }'
    )
    data = {"area": {"households": {"totalCount": 1, **page(has_next=True, end="c1")}}}
    assert page_info(unpaged, data) == (False, None)


def test_mutation_is_not_a_report() -> None:
    with pytest.raises(ReportShapeError, match="not a mutation"):
        make('mutation { rename(code: "1", name: "新村") { name } }')


def test_several_operations_need_a_name() -> None:
    query = 'query A { area(code: "1") { name } } query B { area(code: "1") { code } }'
    with pytest.raises(ReportShapeError, match="exactly one operation"):
        make(query)
    assert make(query, "B").columns == ("area.code",)
    with pytest.raises(ReportShapeError, match="no operation named 'C'"):
        make(query, "C")


def test_edge_and_node_fields_of_one_name_collide() -> None:
    query = '{ area(code: "1") { households { edges { __typename node { __typename } } } } }'
    with pytest.raises(ReportShapeError, match=r"area\.households\.__typename"):
        make(query)
