"""Limits on what one document may ask: depth, aliases, tokens, and a cost.

Depth, aliases and tokens are strawberry's own extensions. The cost is ours:
every field costs 1, and a field returning a list multiplies what is selected
under it by the list's expected size — ``first`` for a connection (or the
page size in force when it is omitted), the length of ``ids`` for ``nodes``,
an expected size for the lists we know (``LIST_SIZES``: an area's children,
ancestors, …) and ``assumed_list_size`` for others (``areas``).
So ``areas { children { households(first: 100) { … } } }`` costs what it
would fetch, and a document over the limit is refused before any resolver
runs, with its cost in the message.

The cost is computed after validation, with the request's variables, so that
parse and validation stay cached per document text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import graphql
from strawberry.extensions import SchemaExtension

from resolvers.common.context import Context

# Expected sizes of the lists we know, by "Type.field" (others: assumed_list_size).
# Trees: a county has some 20 townships, a township some 20 villages, a village
# fewer than 20 groups; a path has at most 5 areas.
LIST_SIZES: dict[str, int] = {
    "Area.children": 20,
    "Area.ancestors": 5,
    "Rollup.itemsByStatus": 8,
    "Rollup.needyHouseholds": 10,
    "Rollup.weeklyVisits": 53,
    "LedgerItem.history": 10,
    "Meeting.suggestions": 10,
    "Query.ledgerCatalog": 8,
    "LedgerKind.categories": 12,
    "Me.roles": 5,
}
# Payload errors: a handful at most (an import's row errors are not among these).
ERRORS_SIZE = 5


def _argument(field: graphql.FieldNode, name: str, variables: dict[str, Any]) -> object:
    """The value of argument ``name`` (a literal, or the variable it names); None if absent."""
    for argument in field.arguments or ():
        if argument.name.value == name:
            return graphql.value_from_ast_untyped(argument.value, variables)
    return None


class Costing:
    """Walks one operation with the schema's types and adds up its cost."""

    def __init__(
        self,
        schema: graphql.GraphQLSchema,
        document: graphql.DocumentNode,
        variables: Mapping[str, Any],
        *,
        page_size: int,
        assumed_list_size: int,
    ) -> None:
        self.schema = schema
        self.variables = dict(variables)
        self.page_size = page_size
        self.assumed_list_size = assumed_list_size
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, graphql.FragmentDefinitionNode)
        }

    def operation(self, operation: graphql.OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            return 0
        return self.selections(operation.selection_set, root, 1, frozenset())

    def selections(
        self,
        selection_set: graphql.SelectionSetNode | None,
        parent: graphql.GraphQLNamedType,
        multiplier: int,
        seen: frozenset[str],
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, graphql.FieldNode):
                total += self.field(selection, parent, multiplier, seen)
            elif isinstance(selection, graphql.InlineFragmentNode):
                condition = selection.type_condition
                named = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selections(selection.selection_set, named or parent, multiplier, seen)
            elif isinstance(selection, graphql.FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                named = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(
                    fragment.selection_set, named or parent, multiplier, seen | {name}
                )
        return total

    def field(
        self,
        field: graphql.FieldNode,
        parent: graphql.GraphQLNamedType,
        multiplier: int,
        seen: frozenset[str],
    ) -> int:
        name = field.name.value
        if name.startswith("__") or not isinstance(
            parent, graphql.GraphQLObjectType | graphql.GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        cost = multiplier
        named = graphql.get_named_type(definition.type)
        size = 1
        if _is_list(definition.type):
            size = self.list_size(field, f"{parent.name}.{name}")
        elif isinstance(named, graphql.GraphQLObjectType) and "edges" in named.fields:
            # A connection: its edges are as many as `first` asks for.
            first = _argument(field, "first", self.variables)
            if isinstance(first, int) and not isinstance(first, bool):
                size = max(first, 0)
            else:
                size = self.page_size
            return cost + self.connection(field, named, multiplier, size, seen)
        return cost + self.selections(field.selection_set, named, multiplier * size, seen)

    def connection(
        self,
        field: graphql.FieldNode,
        connection: graphql.GraphQLObjectType,
        multiplier: int,
        size: int,
        seen: frozenset[str],
    ) -> int:
        total = 0
        for selection in field.selection_set.selections if field.selection_set else ():
            if isinstance(selection, graphql.FieldNode) and selection.name.value == "edges":
                edge = graphql.get_named_type(connection.fields["edges"].type)
                total += multiplier + self.selections(
                    selection.selection_set, edge, multiplier * size, seen
                )
            else:
                single = graphql.SelectionSetNode(selections=(selection,))
                total += self.selections(single, connection, multiplier, seen)
        return total

    def list_size(self, field: graphql.FieldNode, qualified: str) -> int:
        if qualified == "Query.nodes":
            given = _argument(field, "ids", self.variables)
            return len(given) if isinstance(given, list) else self.assumed_list_size
        if qualified.endswith(".errors"):
            return ERRORS_SIZE
        return LIST_SIZES.get(qualified, self.assumed_list_size)


def _is_list(type_: graphql.GraphQLOutputType) -> bool:
    return isinstance(graphql.get_nullable_type(type_), graphql.GraphQLList)


def cost_of(
    schema: graphql.GraphQLSchema,
    document: graphql.DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    *,
    page_size: int,
    assumed_list_size: int,
) -> int:
    """The cost of the operation that would run."""
    operation = graphql.get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    costing = Costing(
        schema, document, variables, page_size=page_size, assumed_list_size=assumed_list_size
    )
    return costing.operation(operation)


class QueryCost(SchemaExtension):
    """Refuses an operation whose cost exceeds ``max_cost``, before it executes."""

    def __init__(self, *, max_cost: int, assumed_list_size: int) -> None:
        self.max_cost = max_cost
        self.assumed_list_size = assumed_list_size

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        context = execution.context
        if document is not None:
            page_size = context.default_page_size if isinstance(context, Context) else self.max_cost
            cost = cost_of(
                execution.schema._schema,
                document,
                execution.operation_name,
                execution.variables or {},
                page_size=page_size,
                assumed_list_size=self.assumed_list_size,
            )
            if cost > self.max_cost:
                message = (
                    f"the query costs {cost}, more than the limit of {self.max_cost}: "
                    "ask for fewer items per page (`first`) or fewer nested lists"
                )
                error = graphql.GraphQLError(message, extensions={"code": "QUERY_TOO_COSTLY"})
                execution.result = graphql.ExecutionResult(data=None, errors=[error])
        yield


# -- text that cannot be stored ---------------------------------------------------------
#
# NUL (U+0000): PostgreSQL can neither store nor compare it. A lone UTF-16
# surrogate (U+D800-U+DFFF, which JSON's "\ud800" escape can produce): it is no
# Unicode character at all, and no database, driver or response can encode it.
# Both are refused with the whole request, wherever they come: the request's
# parameters (``bad_text``), a GraphQL literal (``bad_text_in_document``,
# ``NoUnencodableText``), the variables of any execution (``NoUnencodableVariables``);
# headers and query strings at the door (``app.security``).

NUL_MESSAGE = "text may not contain NUL (U+0000) characters"
SURROGATE_MESSAGE = (
    "text may not contain lone UTF-16 surrogates (U+D800 to U+DFFF): they are not "
    "characters and cannot be encoded"
)
UNENCODABLE = re.compile("[\x00\ud800-\udfff]")
# A GraphQL string escape: \uXXXX or \u{X...}.
_ESCAPE = re.compile(r"\\u(?:\{([0-9A-Fa-f]{1,8})\}|([0-9A-Fa-f]{4}))")


def _message(character: str) -> str:
    return NUL_MESSAGE if character == "\x00" else SURROGATE_MESSAGE


def bad_text(value: object) -> str | None:
    """Why a JSON value (keys included, at any depth) cannot be taken; None if it can."""
    if isinstance(value, str):
        found = UNENCODABLE.search(value)
        return _message(found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            if (why := bad_text(key) or bad_text(item)) is not None:
                return why
    elif isinstance(value, list):
        for item in value:
            if (why := bad_text(item)) is not None:
                return why
    return None


def bad_text_in_document(text: str) -> str | None:
    """Why a GraphQL document's text cannot be taken: such a character in it, or in one
    of its string literals by an escape (``"\u0000"``, ``"\ud800"``); None if it can."""
    if (why := bad_text(text)) is not None:
        return why
    if "\\u" not in text:
        return None  # no escape: the literals hold only the text's own characters
    lexer = graphql.language.Lexer(graphql.Source(text))
    try:
        while (token := lexer.advance()).kind is not graphql.language.TokenKind.EOF:
            string = token.kind is graphql.language.TokenKind.STRING and token.value
            if string and (why := bad_text(token.value)) is not None:
                return why
    except graphql.GraphQLError as error:
        # graphql-core refuses an escaped lone surrogate as an invalid escape sequence.
        positions = list(error.positions or [0])
        escape = _ESCAPE.match(text, positions[0])
        if escape is not None and 0xD800 <= int(escape[1] or escape[2], 16) <= 0xDFFF:
            return SURROGATE_MESSAGE
    return None


BAD_TEXT_CODE = "BAD_REQUEST"


def _bad_text_error(message: str, nodes: object = None) -> graphql.GraphQLError:
    return graphql.GraphQLError(message, nodes, extensions={"code": BAD_TEXT_CODE})  # type: ignore[arg-type]


class NoUnencodableText(graphql.ValidationRule):
    """String literals with NUL or a lone surrogate are refused (see above)."""

    def enter_string_value(self, node: graphql.StringValueNode, *_args: object) -> None:
        if (why := bad_text(node.value)) is not None:
            self.report_error(_bad_text_error(why, node))


class NoUnencodableVariables(SchemaExtension):
    """Variables with NUL or a lone surrogate are refused before execution, however the
    schema is executed (the endpoint refuses them earlier; reports pass through here)."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if (why := bad_text(execution.variables)) is not None:
            execution.result = graphql.ExecutionResult(data=None, errors=[_bad_text_error(why)])
        yield
