"""What a request selected: the rollup fields on an area and below, read from the
GraphQL field nodes (fragments and @include/@skip followed), and what each needs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    value_from_ast_untyped,
)

from db.queries.rollups import Family, Need, need
from db.queries.rollups import TargetRow as TargetRow  # the rows the compiled path reads
from db.queries.rollups import Window as Window

if TYPE_CHECKING:
    pass

# Which families each plain rollup field needs.
FIELD_FAMILIES: dict[str, tuple[Family, ...]] = {
    "households": (Family.HOUSEHOLDS,),
    "visitedHouseholds": (Family.VISITS,),
    "coverage": (Family.VISITS, Family.HOUSEHOLDS),
    "personVisits": (Family.VISITS,),
    "cadres": (Family.CADRES,),
    "cadresVisiting": (Family.CADRES,),
    "cadresAtQuota": (Family.CADRES,),
    "participation": (Family.CADRES,),
    "meetings": (Family.MEETINGS,),
    "suggestions": (Family.MEETINGS,),
    "condolenceAmount": (Family.VISITS,),
    "condolencePeople": (Family.VISITS,),
    "itemsByStatus": (Family.ITEM_STATUS,),
    "needyHouseholds": (Family.NEEDY,),
    "weeklyVisits": (Family.WEEKLY,),
    "items": (Family.ITEMS,),
}


@dataclasses.dataclass(frozen=True)
class RollupSelection:
    """What one ``rollup`` field selected: its window, its fields, overdue dates."""

    window: Window | None = None
    fields: frozenset[str] = frozenset()
    overdue_as_of: frozenset[dt.date | None] = frozenset()  # None: today
    item_ledgers: tuple[str, ...] | None = None  # what `items(ledgers:)` asked for (None: all)

    def need_of(self, family: Family) -> Need:
        """The need a field of ``family`` reads (kept: asked for every field of every row)."""
        known: dict[Family, Need] = self.__dict__.setdefault("_needs", {})
        found = known.get(family)
        if found is None:
            ledgers = self.item_ledgers if family is Family.ITEMS else None
            found = known[family] = need(family, self.window, None, ledgers)
        return found

    def needs(self, today: dt.date) -> list[Need]:
        families = {f for name in self.fields for f in FIELD_FAMILIES.get(name, ())}
        found = [self.need_of(f) for f in sorted(families)]
        found += [need(Family.OVERDUE, None, day or today) for day in _sorted_days(self)]
        return found


def _sorted_days(selection: RollupSelection) -> list[dt.date | None]:
    return sorted(selection.overdue_as_of, key=lambda d: (d is not None, d or dt.date.min))


@dataclasses.dataclass(frozen=True)
class AreaSelection:
    """The rollups selected on an area, and on its children (recursively)."""

    rollups: frozenset[RollupSelection] = frozenset()
    children: AreaSelection | None = None

    @property
    def depth(self) -> int:
        """How many levels below hold rollups (0: this area only)."""
        below = self.children
        deepest, level = 0, 0
        while below is not None:
            level += 1
            if below.rollups:
                deepest = level
            below = below.children
        return deepest

    @property
    def any_rollup(self) -> bool:
        return bool(self.rollups) or (self.children is not None and self.children.any_rollup)

    def all_rollups(self) -> set[RollupSelection]:
        found = set(self.rollups)
        if self.children is not None:
            found |= self.children.all_rollups()
        return found


def coerced(variables: object) -> dict[str, Any]:
    """A resolver's variable values as a dict (graphql-core hands a dict at run time,
    though it annotates a ``VariableValues``)."""
    found = getattr(variables, "coerced", variables)
    return dict(found) if isinstance(found, Mapping) else {}


class NotPlain(Exception):
    """The selection uses something the reader does not follow (callers fall back)."""


def as_date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise NotPlain(value) from error
    raise NotPlain(value)


def _arguments(node: FieldNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    found = {
        argument.name.value: value_from_ast_untyped(argument.value, dict(variables))
        for argument in node.arguments or ()
    }
    return {name: value for name, value in found.items() if value is not Undefined}


def argument(node: FieldNode, name: str, variables: Mapping[str, Any]) -> Any:
    """One argument of a field, variables substituted (None when absent)."""
    return _arguments(node, variables).get(name)


def _included(node: Any, variables: Mapping[str, Any]) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("include", "skip"):
            raise NotPlain(name)
        value = None
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                value = value_from_ast_untyped(argument.value, dict(variables))
        if not isinstance(value, bool):
            raise NotPlain(name)
        if (name == "include") != value:
            return False
    return True


def fields_of(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> Iterable[FieldNode]:
    """The fields of a selection set, through fragments, as executed (include/skip)."""
    for selection in selection_set.selections if selection_set else ():
        if not _included(selection, variables):
            continue
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from fields_of(selection.selection_set, fragments, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            yield from fields_of(fragment.selection_set, fragments, variables)


def read_rollup(
    node: FieldNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> RollupSelection:
    arguments = _arguments(node, variables)
    start, end = as_date(arguments.get("from")), as_date(arguments.get("to"))
    names: set[str] = set()
    days: set[dt.date | None] = set()
    asked: set[str] | None = set()
    for field in fields_of(node.selection_set, fragments, variables):
        name = field.name.value
        if name == "overdueItems":
            days.add(as_date(_arguments(field, variables).get("asOf")))
            continue
        names.add(name)
        if name == "items":
            ledgers = _arguments(field, variables).get("ledgers")
            if ledgers is None or asked is None:
                asked = None
            elif isinstance(ledgers, list) and all(isinstance(x, str) for x in ledgers):
                asked |= set(ledgers)
            else:
                raise NotPlain("ledgers")
    window = None if start is None and end is None else Window(start, end)
    item_ledgers = None if asked is None else tuple(sorted(asked))
    return RollupSelection(window, frozenset(names), frozenset(days), item_ledgers)


def read_selection(
    nodes: Sequence[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> AreaSelection:
    """The rollups selected under the area fields ``nodes`` (one response key)."""
    rollups: set[RollupSelection] = set()
    children: list[FieldNode] = []
    for node in nodes:
        for field in fields_of(node.selection_set, fragments, variables):
            if field.name.value == "rollup":
                rollups.add(read_rollup(field, fragments, variables))
            elif field.name.value == "children":
                children.append(field)
    below = read_selection(children, fragments, variables) if children else None
    return AreaSelection(frozenset(rollups), below)
