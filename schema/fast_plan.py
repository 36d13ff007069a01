"""Plans of the compiled rollup path: which documents it takes, read once per text.

A document qualifies when every root field is an ``area(code:)`` with plain area
fields, its ``rollup`` and its ``children`` (to any depth), without directives or
merged fields; its plan says, per root, what to write into the response and from
which of the statement's values (``schema.fast_path`` runs it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
    parse,
)

from resolvers.rollups import (
    COUNTS,
    LISTS,
    PERCENTS,
    NotPlain,
    read_selection,
)

AREA_FIELDS = frozenset({"id", "name", "code", "level", "__typename", "rollup", "children"})
# Plain rollup fields the compiled path answers: the owner's counts and shares, and the rest.
ROLLUP_SCALARS = frozenset(
    {*COUNTS, *PERCENTS, "condolenceAmount", "partial", "windowFrom", "windowTo"}
)
# List fields of a rollup: their item type and the fields of each item, in tuple order.
ROLLUP_LISTS = {
    "itemsByStatus": ("StatusCount", ("status", "count")),
    "needyHouseholds": ("ReasonCount", ("reason", "households")),
    "weeklyVisits": ("WeekCount", ("week", "visits")),
    "items": ("ItemCount", ("ledger", "category", "status", "count")),
}
ARGUMENTS = {
    "area": {"code"},
    "rollup": {"from", "to"},
    "items": {"ledgers"},
    "overdueItems": {"asOf"},
}


class NotEligible(Exception):
    pass


@dataclasses.dataclass
class Plan:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    # per root field: response key, the field (None: __typename), its output, its depth
    roots: list[tuple[str, FieldNode | None, Out, int]]
    key: tuple[str, str | None] = ("", None)  # the document text and operation name
    verified: bool = False


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    type_name: str,
) -> list[FieldNode]:
    """The fields of a selection set through fragments; refuses anything conditional or
    merged (directives, type conditions on other types, a response key twice)."""
    found: list[FieldNode] = []

    def walk(selections: SelectionSetNode | None) -> None:
        for selection in selections.selections if selections else ():
            if selection.directives:
                raise NotEligible("directive")
            if isinstance(selection, FieldNode):
                found.append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is not None and condition.name.value != type_name:
                    raise NotEligible("type condition")
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                if fragment.directives or fragment.type_condition.name.value != type_name:
                    raise NotEligible("fragment")
                walk(fragment.selection_set)

    walk(selection_set)
    keys = [(f.alias or f.name).value for f in found]
    if len(keys) != len(set(keys)):
        raise NotEligible("merged fields")
    for field in found:
        allowed = ARGUMENTS.get(field.name.value, set())
        if any(a.name.value not in allowed for a in field.arguments or ()):
            raise NotEligible("argument")
    return found


def _check_area(node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
    for field in _fields(node.selection_set, fragments, "Area"):
        name = field.name.value
        if name not in AREA_FIELDS:
            raise NotEligible(name)
        if name == "children":
            _check_area(field, fragments)
        elif name == "rollup":
            for inner in _fields(field.selection_set, fragments, "Rollup"):
                inner_name = inner.name.value
                if inner_name in ROLLUP_LISTS:
                    type_name, allowed = ROLLUP_LISTS[inner_name]
                    for item in _fields(inner.selection_set, fragments, type_name):
                        if item.name.value not in (*allowed, "__typename"):
                            raise NotEligible(item.name.value)
                elif inner_name not in ROLLUP_SCALARS and inner_name not in (
                    "overdueItems",
                    "__typename",
                ):
                    raise NotEligible(inner_name)


def plan_of(text: str, operation_name: str | None) -> Plan | None:
    """The plan of a document, or None when this path does not take it."""
    try:
        document = parse(text)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    try:
        if operation.directives:
            raise NotEligible("directive")
        roots = _fields(operation.selection_set, fragments, "Query")
        if not any(root.name.value == "area" for root in roots):
            raise NotEligible("no area")
        for root in roots:
            if root.name.value == "area":
                _check_area(root, fragments)
                # Areas below the deepest rollup would be read and audited for nothing.
                if _depth(root, fragments) != read_selection([root], fragments, {}).depth:
                    raise NotEligible("children below the rollups")
            elif root.name.value != "__typename":
                raise NotEligible(root.name.value)
    except (NotEligible, NotPlain, KeyError):
        return None
    plan_roots: list[tuple[str, FieldNode | None, Out, int]] = [
        (
            (root.alias or root.name).value,
            root if root.name.value == "area" else None,
            _area_out(root, fragments) if root.name.value == "area" else [],
            _depth(root, fragments) if root.name.value == "area" else 0,
        )
        for root in roots
    ]
    return Plan(operation, fragments, plan_roots, (text, operation_name))


def _depth(node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    below = [
        f for f in _fields(node.selection_set, fragments, "Area") if f.name.value == "children"
    ]
    return 1 + max(_depth(f, fragments) for f in below) if below else 0


Out = list[tuple[str, str, Any]]  # (response key, what it is, what it needs)


def _area_out(node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> Out:
    out: Out = []
    for field in _fields(node.selection_set, fragments, "Area"):
        key, name = (field.alias or field.name).value, field.name.value
        if name == "children":
            out.append((key, name, _area_out(field, fragments)))
        elif name == "rollup":
            out.append((key, name, (field, _rollup_out(field, fragments))))
        else:
            out.append((key, name, None))
    return out


def _rollup_out(node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> Out:
    out: Out = []
    for field in _fields(node.selection_set, fragments, "Rollup"):
        key, name = (field.alias or field.name).value, field.name.value
        if name in LISTS:
            type_name, names = ROLLUP_LISTS[name]
            items = [
                (
                    (f.alias or f.name).value,
                    None if f.name.value == "__typename" else names.index(f.name.value),
                    f.name.value == "week",
                )
                for f in _fields(field.selection_set, fragments, type_name)
            ]
            out.append((key, name, (field, type_name, items)))
        elif name == "overdueItems":
            out.append((key, name, field))
        else:
            out.append((key, name, None))
    return out
