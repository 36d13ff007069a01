"""Dates are ISO ``YYYY-MM-DD`` only, date-times ``YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM]``.

Every argument and input field of type Date or DateTime in the schema (found by
walking it, nested input objects and lists included) is given each malformed
value — basic format, week and ordinal dates, a space for the ``T`` — as a
variable and as a literal, and must be refused before anything runs; the
well-formed value passes coercion. The SDL is unchanged (``test_sdl``).
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from typing import Any

import graphql
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from schema.root import schema as strawberry_schema
from tests.helpers import make_tree

SCHEMA = strawberry_schema._schema
BAD = {
    "Date": ["20140101", "2014-W01-3", "2014W013", "2014-001", "2014001", "+2014-01-01", "2014-01"],
    "DateTime": [
        "20140101T000000",
        "2014-01-01 00:00:00",
        "2014-01-01",
        "2014-W01-3T00:00:00",
        "2014-01-01T0000",
        "2014-01-01T00",
        "2014-001T00:00:00",
    ],
}
GOOD = {"Date": "2014-01-01", "DateTime": "2014-01-01T08:30:00+08:00"}
DUMMY_SCALARS: dict[str, Any] = {
    "ID": "x",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Decimal": "1",
    **GOOD,
}


@dataclasses.dataclass(frozen=True)
class Place:
    """A Date(Time) place: ``Type.field(argument)`` and the input fields down to it."""

    root: str
    owner: str
    hops: tuple[str, ...]  # the selection path from the root, as document text pieces
    field: graphql.GraphQLField
    field_name: str
    argument: str
    inner: tuple[str, ...]  # input fields inside the argument's input object
    scalar: str

    def __str__(self) -> str:
        return f"{self.owner}.{self.field_name}({'.'.join([self.argument, *self.inner])})"


def _named(type_: Any) -> Any:
    return graphql.get_named_type(type_)


def _dummy(type_: Any) -> Any:
    nullable = graphql.get_nullable_type(type_)
    if isinstance(nullable, graphql.GraphQLList):
        return [_dummy(nullable.of_type)]
    if isinstance(nullable, graphql.GraphQLEnumType):
        return next(iter(nullable.values))
    if isinstance(nullable, graphql.GraphQLInputObjectType):
        return {
            name: _dummy(field.type)
            for name, field in nullable.fields.items()
            if graphql.is_required_input_field(field)
        }
    return DUMMY_SCALARS[nullable.name]


def _date_paths(
    type_: Any, seen: frozenset[str] = frozenset()
) -> list[tuple[tuple[str, ...], str]]:
    named = _named(type_)
    if named.name in BAD:
        return [((), named.name)]
    if not isinstance(named, graphql.GraphQLInputObjectType) or named.name in seen:
        return []
    found = []
    for name, field in named.fields.items():
        for inner, scalar in _date_paths(field.type, seen | {named.name}):
            found.append(((name, *inner), scalar))
    return found


def _paths_to_types(root: graphql.GraphQLObjectType) -> dict[str, tuple[str, ...]]:
    """A selection path from ``root`` to every output type it reaches (BFS)."""
    paths: dict[str, tuple[str, ...]] = {root.name: ()}
    queue = deque([root])
    while queue:
        type_ = queue.popleft()
        nexts: list[tuple[Any, str]] = []
        if isinstance(type_, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType):
            for name, field in type_.fields.items():
                nexts.append((_named(field.type), name))
        if isinstance(type_, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
            for possible in SCHEMA.get_possible_types(type_):
                nexts.append((possible, f"... on {possible.name}"))
        for target, hop in nexts:
            composite = isinstance(
                target,
                graphql.GraphQLObjectType | graphql.GraphQLInterfaceType | graphql.GraphQLUnionType,
            )
            if composite and target.name not in paths:
                paths[target.name] = (*paths[type_.name], hop)
                queue.append(target)
    return paths


def places() -> list[Place]:
    found = []
    seen: set[tuple[str, str, str, tuple[str, ...]]] = set()
    for root in (SCHEMA.query_type, SCHEMA.mutation_type):
        assert root is not None
        for type_name, hops in _paths_to_types(root).items():
            type_ = SCHEMA.get_type(type_name)
            if not isinstance(type_, graphql.GraphQLObjectType):
                continue
            for field_name, field in type_.fields.items():
                for argument, definition in field.args.items():
                    for inner, scalar in _date_paths(definition.type):
                        if (type_name, field_name, argument, inner) in seen:
                            continue
                        seen.add((type_name, field_name, argument, inner))
                        found.append(
                            Place(
                                root.name,
                                type_name,
                                hops,
                                field,
                                field_name,
                                argument,
                                inner,
                                scalar,
                            )
                        )
    return found


PLACES = places()


def _document(place: Place, value: Any, *, literal: bool) -> tuple[str, dict[str, Any]]:
    """A valid document reaching ``place``, its date given as a variable (or a literal)."""
    declarations: list[str] = []
    variables: dict[str, Any] = {}

    def arguments(owner_type: Any, field_name: str, target: str | None) -> str:
        field = owner_type.fields[field_name]
        given = []
        for name, definition in field.args.items():
            if name != target and not graphql.is_required_argument(definition):
                continue
            variable = f"v{len(declarations)}"
            declarations.append(f"${variable}: {definition.type}")
            variables[variable] = _dummy(definition.type)
            if name == target:
                variables[variable] = _with_date(definition.type, place.inner, value)
                if literal:
                    declarations.pop()
                    given.append(f"{name}: {_literal(variables.pop(variable))}")
                    continue
            given.append(f"{name}: ${variable}")
        return f"({', '.join(given)})" if given else ""

    root: Any = SCHEMA.get_type(place.root)
    opening, closing, current = [], [], root
    for hop in place.hops:
        if hop.startswith("... on "):
            current = SCHEMA.get_type(hop.removeprefix("... on "))
            opening.append(f"{hop} {{")
        else:
            opening.append(f"{hop}{arguments(current, hop, None)} {{")
            current = _named(current.fields[hop].type)
        closing.append("}")
    leaf = place.field_name + arguments(current, place.field_name, place.argument)
    if not graphql.is_leaf_type(_named(place.field.type)):
        leaf += " { __typename }"
    operation = "query" if place.root == SCHEMA.query_type.name else "mutation"  # type: ignore[union-attr]
    heading = f"({', '.join(declarations)})" if declarations else ""
    return (
        f"{operation} Place{heading} {{ {' '.join(opening)} {leaf} {' '.join(closing)} }}",
        variables,
    )


def _with_date(type_: Any, inner: tuple[str, ...], value: Any) -> Any:
    nullable = graphql.get_nullable_type(type_)
    if isinstance(nullable, graphql.GraphQLList):
        return [_with_date(nullable.of_type, inner, value)]
    if not inner:
        return value
    found = _dummy(nullable)
    found[inner[0]] = _with_date(nullable.fields[inner[0]].type, inner[1:], value)
    return found


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value in _enum_names():
        return value
    return json.dumps(value)


def _enum_names() -> set[str]:
    return {
        name
        for type_ in SCHEMA.type_map.values()
        if isinstance(type_, graphql.GraphQLEnumType) and not type_.name.startswith("__")
        for name in type_.values
    }


async def _coercion_errors(place: Place, value: Any, *, literal: bool) -> list[str]:
    document, variables = _document(place, value, literal=literal)
    assert not graphql.validate(SCHEMA, graphql.parse(document)) or literal, document
    result = await strawberry_schema.execute(document, variable_values=variables)
    # Errors before execution (no path): the value was refused. Errors with a path come
    # from resolvers run without a context: the value was taken.
    return [e.message for e in result.errors or () if e.path is None and value in e.message]


def test_the_schema_has_the_date_places_we_know() -> None:
    names = {str(place) for place in PLACES}
    assert {
        "Mutation.recordVisit(input.visitedOn)",
        "Area.rollup(from)",
        "Query.auditEvents(since)",
    } <= names, names
    assert len(PLACES) >= 10, names


@pytest.mark.parametrize("place", PLACES, ids=str)
async def test_every_date_place_takes_iso_extended_form_only(place: Place) -> None:
    for literal in (False, True):
        for bad in BAD[place.scalar]:
            errors = await _coercion_errors(place, bad, literal=literal)
            assert errors, f"{place} took {bad!r} ({'literal' if literal else 'variable'})"
        good = GOOD[place.scalar]
        assert await _coercion_errors(place, good, literal=literal) == [], (place, good)


async def test_the_ledger_export_takes_iso_dates_only(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The one Date input outside the schema: /ledgers/export.xlsx's asOf, receivedFrom,
    receivedTo."""
    await make_tree(sessionmaker)
    for name in ("asOf", "receivedFrom", "receivedTo"):
        for bad in BAD["Date"]:
            response = await client.get(f"/ledgers/export.xlsx?area=519902&{name}={bad}")
            assert response.status_code == 400, (name, bad, response.text)
        response = await client.get(f"/ledgers/export.xlsx?area=519902&{name}=2014-01-01")
        assert response.status_code == 200, (name, response.text)
