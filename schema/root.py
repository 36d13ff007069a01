"""The Schema: root types, extensions, and the SDL it prints."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Callable

import graphql
import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError, is_unavailable
from schema.errors import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE
from schema.ledgers import LedgerItem
from schema.limits import NoUnencodableText, NoUnencodableVariables, QueryCost
from schema.meetings import Meeting, Suggestion
from schema.mutations import Mutation
from schema.query import Query
from schema.scalars import SCALAR_OVERRIDES
from schema.types import Area, Cadre, Department, Household, Visit


class CloseSession(SchemaExtension):
    """Closes the request's read session when the operation ends."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.close()


log = logging.getLogger("grassroots.errors")
INTERNAL = "INTERNAL_SERVER_ERROR"


def _should_mask(error: GraphQLError) -> bool:
    # Parse, validation and variable-coercion errors arise before any resolver runs
    # (no path) and are the client's to see; ArgumentError is written for clients;
    # anything else a resolver raised is unexpected and its text may not leave. A
    # database that went away is masked wherever it surfaced (a resolver, an
    # extension, closing the request's session): the driver's text names the server.
    original = error.original_error
    if is_unavailable(original):
        return True
    return (
        error.path is not None and original is not None and not isinstance(original, ArgumentError)
    )


def _is_timeout(error: BaseException | None) -> bool:
    # PostgreSQL cancels a statement past `statement_timeout` (asyncpg's
    # QueryCanceledError, wrapped by SQLAlchemy): the request was too heavy.
    return error is not None and "statement timeout" in str(error)


def _request_id(execution_context: ExecutionContext) -> str:
    context = execution_context.context
    return context.request_id if isinstance(context, Context) else ""


class MaskUnexpectedErrors(MaskErrors):
    """Unexpected errors leave as "Internal server error" with the request's id.

    The original (type, message, traceback) is logged by ``Schema.process_errors``
    under that id; nothing of it reaches the client.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=_should_mask)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = _request_id(self.execution_context)
        if is_unavailable(error.original_error):
            message, code = UNAVAILABLE_MESSAGE, SERVICE_UNAVAILABLE
        elif _is_timeout(error.original_error):
            message, code = "the request took longer than the database allows", "TIMEOUT"
        else:
            message, code = "Internal server error", INTERNAL
        return GraphQLError(
            message=message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions={"code": code, "requestId": request_id},
        )


class GrassrootsSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log unexpected errors (with traceback and request id); clients' own are not ours."""
        request_id = _request_id(execution_context) if execution_context else ""
        for error in errors:
            if is_unavailable(error.original_error):
                # Not a bug: one line, no traceback per field (the database is away).
                log.warning(
                    "the database is unavailable (%s)",
                    type(error.original_error).__name__,
                    extra={"request_id": request_id},
                )
            elif _should_mask(error):
                log.error(
                    "unexpected error in %s: %s",
                    ".".join(str(p) for p in error.path or ()),
                    error.message,
                    exc_info=error.original_error,
                    extra={"request_id": request_id},
                )


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one document may ask; see ``schema.limits``."""

    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_cost: int = 200_000
    assumed_list_size: int = 50


def build_schema(*, introspection: bool = True, limits: Limits | None = None) -> strawberry.Schema:
    """The schema; without introspection for production."""
    limits = limits or Limits()
    rules = [
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        NoUnencodableText,
    ]
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        CloseSession,
        MaskUnexpectedErrors,
        # Saved and repeated documents skip parsing and validation (bounded LRUs).
        lambda: ParserCache(maxsize=1024),
        lambda: ValidationCache(maxsize=1024),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        # The same rule classes for every request: the validation cache is keyed on them.
        lambda: AddValidationRules(rules),
        NoUnencodableVariables,
        lambda: QueryCost(max_cost=limits.max_cost, assumed_list_size=limits.assumed_list_size),
    ]
    if not introspection:
        extensions.append(DisableIntrospection)
    return GrassrootsSchema(
        query=Query,
        mutation=Mutation,
        types=[Area, Household, Department, Cadre, Visit, Meeting, Suggestion, LedgerItem],
        extensions=extensions,
        # Date and DateTime: ISO's extended form only (same names, same SDL).
        scalar_overrides=SCALAR_OVERRIDES,
    )


schema = build_schema()


def graphql_schema() -> graphql.GraphQLSchema:
    """graphql-core's schema behind ours: saved documents are validated against it."""
    return schema._schema


def sdl() -> str:
    """The schema as SDL, as committed in ``schema/schema.graphql``."""
    return schema.as_str() + "\n"
