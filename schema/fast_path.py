"""A compiled execution path for rollup documents: the response built straight from rows.

A query whose every field is an ``area(code:)`` with plain area fields, its
``rollup`` and its ``children`` (to any depth) is answered here without field
execution: its selection is read once per document text, the one rollup
statement runs (``resolvers.rollups``, the same as ordinary execution uses,
with the same scopes, masking and audit), and the response is assembled from
the rows with the schema's own scalar serializers.

A plan is used only after ordinary execution has answered the same document
text once without errors (so parsing, validation and every limit were applied
to exactly this text); until then, and whenever a document is not of this
shape or its variables do not coerce, ordinary execution answers. Tests hold
both paths equal for every saved query and generated documents, for every role.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
    parse,
)
from graphql.execution.values import get_variable_values
from strawberry.relay import to_base64

from resolvers import rollups as rollup_resolvers
from resolvers.context import Context
from resolvers.rollups import AreaSelection, NotPlain, RollupValue, read_selection

AREA_FIELDS = frozenset({"id", "name", "code", "level", "__typename", "rollup", "children"})
ROLLUP_SCALARS = {
    "windowFrom": "window_from",
    "windowTo": "window_to",
    "households": "households",
    "visitedHouseholds": "visited_households",
    "coverage": "coverage",
    "personVisits": "person_visits",
    "cadres": "cadres",
    "cadresVisiting": "cadres_visiting",
    "cadresAtQuota": "cadres_at_quota",
    "participation": "participation",
    "meetings": "meetings",
    "suggestions": "suggestions",
    "condolenceAmount": "condolence_amount",
    "condolencePeople": "condolence_people",
    "partial": "partial",
}
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
    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
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
    return Plan(document, operation, fragments)


def _depth(node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> int:
    below = [
        f for f in _fields(node.selection_set, fragments, "Area") if f.name.value == "children"
    ]
    return 1 + max(_depth(f, fragments) for f in below) if below else 0


class FastPath:
    """Plans per document text (bounded), and their execution."""

    def __init__(self, schema: GraphQLSchema, size: int = 1000) -> None:
        self.schema = schema
        self.plans: LRUCache[tuple[str, str | None], Plan | None] = LRUCache(maxsize=size)
        decimal, date = schema.get_type("Decimal"), schema.get_type("Date")
        self._decimal = getattr(decimal, "serialize", str)
        self._date = getattr(date, "serialize", str)

    def plan(self, text: str, operation_name: str | None) -> Plan | None:
        key = (text, operation_name)
        if key not in self.plans:
            self.plans[key] = plan_of(text, operation_name)
        return self.plans[key]

    async def run(
        self, plan: Plan, variables: Mapping[str, Any] | None, context: Context
    ) -> dict[str, Any] | None:
        """The response's ``data``; None when the variables do not coerce (ordinary
        execution then answers, with its errors)."""
        coerced = get_variable_values(
            self.schema, plan.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return None
        values = rollup_resolvers.coerced(coerced)
        data: dict[str, Any] = {}
        for root in _fields(plan.operation.selection_set, plan.fragments, "Query"):
            key = (root.alias or root.name).value
            if root.name.value == "__typename":
                data[key] = "Query"
                continue
            code = rollup_resolvers.argument(root, "code", values)
            if not isinstance(code, str):
                return None
            selection = rollup_resolvers.read_selection([root], plan.fragments, values)
            data[key] = await self._area(context, root, code, selection, values, plan)
        return data

    async def _area(
        self,
        context: Context,
        root: FieldNode,
        code: str,
        selection: AreaSelection,
        variables: dict[str, Any],
        plan: Plan,
    ) -> dict[str, Any] | None:
        answered = await rollup_resolvers.rows_by_code(
            context, code=code, selection=selection, depth=_depth(root, plan.fragments)
        )
        if not answered.rows:
            return None
        children: dict[int, list[Any]] = {}
        for row in answered.rows[1:]:
            children.setdefault(row.parent_id or 0, []).append(row)

        def area(node: FieldNode, row: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for field in _fields(node.selection_set, plan.fragments, "Area"):
                key, name = (field.alias or field.name).value, field.name.value
                if name == "id":
                    out[key] = to_base64("Area", row.id)
                elif name == "__typename":
                    out[key] = "Area"
                elif name == "level":
                    out[key] = row.level.upper()
                elif name in ("name", "code"):
                    out[key] = getattr(row, name)
                elif name == "children":
                    out[key] = [area(field, child) for child in children.get(row.id, [])]
                else:
                    rollup = rollup_resolvers.read_rollup(field, plan.fragments, variables)
                    value = answered.values[(row.id, rollup)]
                    out[key] = self._rollup(field, value, variables, plan.fragments)
            return out

        return area(root, answered.rows[0])

    def _rollup(
        self,
        node: FieldNode,
        value: RollupValue,
        variables: dict[str, Any],
        fragments: Mapping[str, FragmentDefinitionNode],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in _fields(node.selection_set, fragments, "Rollup"):
            key, name = (field.alias or field.name).value, field.name.value
            if name == "__typename":
                out[key] = "Rollup"
            elif name == "overdueItems":
                day = rollup_resolvers.as_date(rollup_resolvers.argument(field, "asOf", variables))
                out[key] = value.overdue.get(day, 0)
            elif name in ROLLUP_LISTS:
                type_name, names = ROLLUP_LISTS[name]
                if name == "items":
                    ledgers = rollup_resolvers.argument(field, "ledgers", variables)
                    entries: list[tuple[Any, ...]] = list(value.items(ledgers))
                else:
                    entries = list(getattr(value, ROLLUP_ATTRIBUTES[name]))
                inner = _fields(field.selection_set, fragments, type_name)
                out[key] = [self._item(inner, names, type_name, entry) for entry in entries]
            else:
                out[key] = self._scalar(name, getattr(value, ROLLUP_SCALARS[name]))
        return out

    def _item(
        self,
        fields: list[FieldNode],
        names: tuple[str, ...],
        type_name: str,
        entry: tuple[Any, ...],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in fields:
            key, name = (field.alias or field.name).value, field.name.value
            if name == "__typename":
                out[key] = type_name
            else:
                raw = entry[names.index(name)]
                out[key] = self._date(raw) if name == "week" else raw
        return out

    def _scalar(self, name: str, raw: Any) -> Any:
        if raw is None:
            return None
        if name == "condolenceAmount":
            return self._decimal(raw)
        if name in ("windowFrom", "windowTo"):
            return self._date(raw)
        return raw


ROLLUP_ATTRIBUTES = {
    "itemsByStatus": "items_by_status",
    "needyHouseholds": "needy_households",
    "weeklyVisits": "weekly_visits",
}
