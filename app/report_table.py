"""Reports as flat tables: a GraphQL query's result, one row per innermost list item.

``plan`` reads the query against the schema once: its columns (dotted response keys,
leaving a Relay connection's ``edges``/``node`` out) and the connection to page through.
``rows`` flattens each page of results with left-join semantics.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence

import graphql
from graphql import FieldNode, GraphQLNamedType, GraphQLObjectType

# How the fields under a connection and under its edges are treated: the named field
# becomes part of the row path without a column name of its own; None drops it.
_ROLES: dict[str, dict[str, str | None]] = {
    "connection": {"edges": "edges", "pageInfo": None},
    "edges": {"node": "node", "cursor": None},
}

# Selections carry the fragments enclosing them, to catch fragments that spread themselves.
_Selections = list[tuple[graphql.SelectionSetNode, frozenset[str]]]
_Nodes = list[tuple[FieldNode, frozenset[str]]]
_Collected = dict[str, tuple[GraphQLNamedType, _Nodes]]
# From `data` down to a field: (response key, named in columns, is a list) per step.
_Trail = tuple[tuple[str, bool, bool], ...]


class ReportShapeError(ValueError):
    """The document cannot be turned into a report; the message is for the client."""


@dataclasses.dataclass(frozen=True)
class _Field:
    key: str
    lists: int  # list wrappers around the value: object lists fan out, scalar lists join
    column: int | None = None
    children: tuple[_Field, ...] = ()
    expands: bool = False  # can give more than one row


@dataclasses.dataclass(frozen=True)
class Plan:
    columns: tuple[str, ...]
    paged_variable: str | None
    paged_path: tuple[str, ...] | None
    # The row shape behind the columns; only plan() knows it, so rows() needs a planned Plan.
    _fields: tuple[_Field, ...] | None = dataclasses.field(
        default=None, repr=False, compare=False, kw_only=True
    )


def plan(
    schema: graphql.GraphQLSchema, document: graphql.DocumentNode, operation_name: str | None = None
) -> Plan:
    """Read the columns and the paged connection of a report query."""
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None:
        if operation_name is not None:
            raise ReportShapeError(f"the document has no operation named {operation_name!r}")
        raise ReportShapeError("the document must hold exactly one operation, or name one")
    if operation.operation is not graphql.OperationType.QUERY:
        raise ReportShapeError(f"a report runs a query, not a {operation.operation.value}")
    if schema.query_type is None:
        raise ReportShapeError("the schema has no query type")
    planner = _Planner(schema, document)
    top = planner.collect(schema.query_type, [(operation.selection_set, frozenset())])
    fields = planner.fields(top, (), "object")
    if not planner.columns:
        raise ReportShapeError("the query selects no columns")
    variable, path = planner.paged or (None, None)
    return Plan(tuple(planner.columns), variable, path, _fields=fields)


class _Planner:
    def __init__(self, schema: graphql.GraphQLSchema, document: graphql.DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, graphql.FragmentDefinitionNode)
        }
        self.columns: list[str] = []
        self.paged: tuple[str, tuple[str, ...]] | None = None

    def collect(self, parent: GraphQLNamedType, selections: _Selections) -> _Collected:
        # Fragments merge in where they stand; a repeated response key joins the first.
        collected: _Collected = {}
        for selection_set, active in selections:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    collected.setdefault(key, (parent, []))[1].append((selection, active))
                    continue
                enclosing = active
                condition: graphql.NamedTypeNode | None
                if isinstance(selection, graphql.FragmentSpreadNode):
                    name = selection.name.value
                    if name in active or name not in self.fragments:
                        raise ReportShapeError(f"fragment {name!r} is unknown or spreads itself")
                    fragment, enclosing = self.fragments[name], active | {name}
                    condition, inner = fragment.type_condition, fragment.selection_set
                elif isinstance(selection, graphql.InlineFragmentNode):
                    condition, inner = selection.type_condition, selection.selection_set
                type_name = parent.name if condition is None else condition.name.value
                owner = self.schema.get_type(type_name)
                if owner is None:
                    raise ReportShapeError(f"unknown type {type_name!r}")
                for key, (field_owner, nodes) in self.collect(owner, [(inner, enclosing)]).items():
                    collected.setdefault(key, (field_owner, []))[1].extend(nodes)
        return collected

    def fields(self, collected: _Collected, trail: _Trail, role: str) -> tuple[_Field, ...]:
        out = []
        for key, (owner, nodes) in collected.items():
            kind = _ROLES.get(role, {}).get(nodes[0][0].name.value, "object")
            if kind is not None:
                out.append(self.field(owner, nodes, (*trail, (key, kind == "object", False)), kind))
        return tuple(out)

    def field(self, owner: GraphQLNamedType, nodes: _Nodes, trail: _Trail, kind: str) -> _Field:
        field_type = self.definition(owner, nodes[0][0].name.value)
        lists, named = _list_depth(field_type), graphql.get_named_type(field_type)
        if graphql.is_leaf_type(named):
            return self.leaf(trail, lists)
        key, shown, _ = trail[-1]
        trail = (*trail[:-1], (key, shown, lists > 0))
        collected = self.collect(named, _inner(nodes))
        role = kind
        if kind == "object" and _is_connection(named):
            role = "connection"
            if self.paged is None and not any(listed for _, _, listed in trail):
                self.paged = self.paging(nodes, collected, tuple(k for k, _, _ in trail))
        children = self.fields(collected, trail, role)
        return _Field(key, lists, None, children, lists > 0 or any(c.expands for c in children))

    def paging(
        self, nodes: _Nodes, collected: _Collected, path: tuple[str, ...]
    ) -> tuple[str, tuple[str, ...]] | None:
        after = [
            argument.value.name.value
            for node, _ in nodes
            for argument in node.arguments or ()
            if argument.name.value == "after" and isinstance(argument.value, graphql.VariableNode)
        ]
        if not after or not _unaliased(collected, "pageInfo"):
            return None
        owner, page_nodes = collected["pageInfo"]
        named = graphql.get_named_type(self.definition(owner, "pageInfo"))
        inner = self.collect(named, _inner(page_nodes))
        if _unaliased(inner, "hasNextPage") and _unaliased(inner, "endCursor"):
            return after[0], path
        return None

    def leaf(self, trail: _Trail, lists: int) -> _Field:
        column = ".".join(key for key, shown, _ in trail if shown)
        if column in self.columns:
            # Only through the unnamed edges/node steps: an edge and a node field alike.
            raise ReportShapeError(f"two selections make the column {column!r}; alias one")
        self.columns.append(column)
        return _Field(trail[-1][0], lists, len(self.columns) - 1)

    def definition(self, owner: GraphQLNamedType, name: str) -> graphql.GraphQLOutputType:
        if name == "__typename":
            return graphql.GraphQLString
        composite = (GraphQLObjectType, graphql.GraphQLInterfaceType)
        if isinstance(owner, composite) and name in owner.fields:
            field: graphql.GraphQLField = owner.fields[name]
            return field.type
        raise ReportShapeError(f"{owner.name} has no field {name!r}")


def _inner(nodes: _Nodes) -> _Selections:
    return [(node.selection_set, active) for node, active in nodes if node.selection_set]


def _list_depth(field_type: graphql.GraphQLOutputType) -> int:
    depth, inner = 0, graphql.get_nullable_type(field_type)
    while isinstance(inner, graphql.GraphQLList):
        depth, inner = depth + 1, graphql.get_nullable_type(inner.of_type)
    return depth


def _is_connection(named: GraphQLNamedType) -> bool:
    if not isinstance(named, GraphQLObjectType) or "edges" not in named.fields:
        return False
    edges = named.fields["edges"].type
    edge = graphql.get_named_type(edges)
    return _list_depth(edges) > 0 and isinstance(edge, GraphQLObjectType) and "node" in edge.fields


def _unaliased(collected: _Collected, name: str) -> bool:
    # page_info() reads pageInfo by response key, so these must not be aliased.
    return name in collected and collected[name][1][0][0].name.value == name


def rows(plan: Plan, data: Mapping[str, object]) -> Iterator[list[object]]:
    """Flatten one page of results into rows aligned with ``plan.columns``."""
    if plan._fields is None:
        raise ValueError("rows() needs a Plan made by plan()")
    width = len(plan.columns)
    for cells in _object_rows(plan._fields, data):
        yield [cells.get(index) for index in range(width)]


def page_info(plan: Plan, data: Mapping[str, object]) -> tuple[bool, str | None]:
    """Return (hasNextPage, endCursor) of the paged connection in one page of results."""
    info: object = data if plan.paged_path else None
    for key in (*(plan.paged_path or ()), "pageInfo"):
        info = info.get(key) if isinstance(info, Mapping) else None
    if not isinstance(info, Mapping):
        return False, None
    cursor = info.get("endCursor")
    return info.get("hasNextPage") is True, cursor if isinstance(cursor, str) else None


def _object_rows(fields: Sequence[_Field], value: object) -> Iterator[dict[int, object]]:
    obj = value if isinstance(value, Mapping) else {}
    base: dict[int, object] = {}
    expanding = []
    for field in fields:
        if field.column is not None:
            base[field.column] = _cell(obj.get(field.key), field.lists)
        elif field.expands:
            expanding.append(field)
        else:
            for cells in _field_rows(field, obj.get(field.key)):
                base.update(cells)
    if not expanding:
        yield base
    # Sibling lists take turns, each row blank in the other lists' columns: a union of
    # the lists, never their product.
    for field in expanding:
        for cells in _field_rows(field, obj.get(field.key)):
            yield base | cells


def _field_rows(field: _Field, value: object) -> Iterator[dict[int, object]]:
    # Left join: with no items the parent still gets its row, blank in this list's columns.
    for item in list(_items(value, field.lists)) or [None]:
        yield from _object_rows(field.children, item)


def _items(value: object, lists: int) -> Iterator[object]:
    if lists == 0:
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _items(item, lists - 1)


def _cell(value: object, lists: int) -> object:
    if value is None:
        return None
    if lists:
        return "; ".join(_text(item) for item in _items(value, lists))
    # Only a custom scalar gives a structure; keep it readable in one cell.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, Mapping | list) else value


def _text(item: object) -> str:
    # JSON's spelling, as the response itself has it: true, not True.
    return "" if item is None else item if isinstance(item, str) else json.dumps(item)
