"""The Schema: root types, extensions, and the SDL it prints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import graphql
import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from resolvers.context import Context
from resolvers.errors import ArgumentError
from schema.ledgers import LedgerItem, Meeting, Suggestion
from schema.mutations import Mutation
from schema.query import Query
from schema.types import Area, Cadre, Department, Household, Visit


class CloseSession(SchemaExtension):
    """Closes the request's read session when the operation ends."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.close()


def _should_mask(error: GraphQLError) -> bool:
    # Parse, validation and variable-coercion errors arise before any resolver runs
    # (no path) and are the client's to see; ArgumentError is written for clients;
    # anything else a resolver raised is unexpected and its text may not leave.
    original = error.original_error
    return (
        error.path is not None and original is not None and not isinstance(original, ArgumentError)
    )


def build_schema(*, introspection: bool = True) -> strawberry.Schema:
    """The schema; without introspection for production."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        CloseSession,
        lambda: MaskErrors(should_mask_error=_should_mask),
        # Saved and repeated documents skip parsing and validation (bounded LRUs).
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Area, Household, Department, Cadre, Visit, Meeting, Suggestion, LedgerItem],
        extensions=extensions,
    )


schema = build_schema()


def graphql_schema() -> graphql.GraphQLSchema:
    """graphql-core's schema behind ours: saved documents are validated against it."""
    return schema._schema


def sdl() -> str:
    """The schema as SDL, as committed in ``schema/schema.graphql``."""
    return schema.as_str() + "\n"
