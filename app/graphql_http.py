"""GraphQL over HTTP: the /graphql endpoint, persisted documents and the allowlist.

Follows the GraphQL-over-HTTP specification (graphql.github.io/graphql-over-http):
POST with an ``application/json`` body, or GET for queries only (a mutation over
GET is refused with 405); the response is ``application/graphql-response+json``
when the client accepts it (then a request that fails before execution — bad
JSON, wrong parameter types, parse or validation errors — gets 400 and no
``data``), ``application/json`` otherwise (then only malformed requests get 400).

A document arrives in one of three forms:

- ``query``: its text (an ad-hoc document, unless its hash is a saved query's);
- ``documentId: "sha256:<hex>"``: a saved query (persisted document) by id;
- ``extensions.persistedQuery.sha256Hash`` (Apollo's automatic persisted
  queries): the hash alone runs a saved query or a registered document, or
  answers ``PersistedQueryNotFound`` (HTTP 200, so Apollo Client and urql send
  the full text next); the hash with the text registers it (when automatic
  registration is on) and runs it; a hash that is not the text's is refused.

The allowlist: a caller without ``query.adhoc`` (reporting tools), or everyone
but administrators when the server is saved-queries-only, runs saved queries
only. Saved queries run with the caller's own scope like any other document.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any

import orjson
from cachetools import LRUCache
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry import Schema
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from app.graphql_request import (
    GRAPHQL_RESPONSE,
    Params,
    RequestError,
    negotiate,
    read_params,
    refuse_bad_text,
)
from app.observability import Metrics, retry_after, unavailable_error
from db.engine import is_unavailable
from resolvers import saved_queries
from resolvers.common.access import Access
from resolvers.common.context import Context
from schema.errors import SERVICE_UNAVAILABLE, answered_codes
from schema.fast_path import FastPath
from schema.limits import BAD_TEXT_CODE, bad_text_in_document

log = logging.getLogger("grassroots.graphql")


@dataclasses.dataclass(frozen=True)
class HttpConfig:
    max_body_bytes: int = 1_000_000
    apq_auto_register: bool = True
    apq_cache_size: int = 1000
    saved_queries_only: bool = False
    graphiql: bool = True
    fast_path: bool = True
    rollup_cache_bytes: int = 32 << 20


@dataclasses.dataclass(frozen=True)
class Document:
    """What will run: its text, and the saved query it is, if it is one."""

    text: str
    saved: saved_queries.Saved | None


class GraphQLEndpoint:
    """The ASGI app serving /graphql; see the module's docstring."""

    def __init__(
        self,
        *,
        schema: Schema,
        new_context: Any,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: HttpConfig,
        registry: saved_queries.Registry,
        metrics: Metrics | None = None,
    ) -> None:
        self.schema = schema
        self.new_context = new_context
        self.sessionmaker = sessionmaker
        self.config = config
        self.registry = registry
        self.metrics = metrics or Metrics()
        self.registered: LRUCache[str, str] = LRUCache(maxsize=config.apq_cache_size)
        self.ide_html = get_graphql_ide_html(graphql_ide="graphiql") if config.graphiql else ""
        self.fast = (
            FastPath(
                schema._schema,
                cache_bytes=config.rollup_cache_bytes,
                count=self.metrics.rollup_answer,
            )
            if config.fast_path
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method not in {"GET", "POST"}:
            return Response(status_code=405, headers={"allow": "GET, POST"})
        accept = request.headers.get("accept")
        if self._is_ide(request, accept):
            return HTMLResponse(self.ide_html)
        media_type = negotiate(accept)
        if media_type is None:
            return Response(
                "offered: application/graphql-response+json, application/json",
                status_code=406,
                media_type="text/plain",
            )
        state = request.scope.setdefault("state", {})
        try:
            params = await read_params(request, self.config.max_body_bytes)
            refuse_bad_text(params)
            state["operation"] = params.operation_name
            access: Access = request.state.access
            document = await self.document(params, access)
            if (why := bad_text_in_document(document.text)) is not None:
                raise RequestError(400, why)  # in a literal, by an escape (a saved one too)
            if document.saved is not None and not params.operation_name:
                state["operation"] = document.saved.name
            answered: list[str] = []
            token = answered_codes.set(answered)
            try:
                result = await self.execute(request, params, document)
            finally:
                answered_codes.reset(token)
        except RequestError as error:
            state["outcome"] = error.code
            state["errors_counted"] = True
            self.metrics.error(error.code)
            return self.request_error(error, media_type)
        codes = _error_codes(result) + answered
        state["errors_counted"] = True
        for code in codes:
            self.metrics.error(code)
        state["outcome"] = ",".join(sorted(set(codes))) or "ok"
        if SERVICE_UNAVAILABLE in codes:
            # The database went away during the request: whatever was answered is not
            # the answer; the whole request is to be retried.
            body = {"errors": [unavailable_error(request.state.request_id)]}
            return _json_response(body, 503, media_type, retry_after())
        return self.respond(result, media_type)

    def _is_ide(self, request: Request, accept: str | None) -> bool:
        return (
            self.config.graphiql
            and request.method == "GET"
            and not request.query_params
            and accept is not None
            and "text/html" in accept
        )

    async def document(self, params: Params, access: Access) -> Document:
        """The document to run, from whichever form the request used; allowlist applied."""
        document = await self._find_document(params, access)
        if document.saved is not None and not saved_queries.may_run(access, document.saved):
            # Not a saved query this caller may run: as if there were none.
            document = Document(document.text, None)
            if params.query is None:
                raise self._not_found(params)
        adhoc_ok = saved_queries.may_send_adhoc(
            access, saved_queries_only=self.config.saved_queries_only
        )
        if document.saved is None and not adhoc_ok:
            raise RequestError(
                403, "only saved queries may be run by this caller", "PERSISTED_QUERY_REQUIRED"
            )
        return document

    def _not_found(self, params: Params) -> RequestError:
        if params.document_id is not None:
            return RequestError(404, "no saved query has that documentId", "DOCUMENT_NOT_FOUND")
        return RequestError(200, "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")

    async def _find_document(self, params: Params, access: Access) -> Document:
        if params.document_id is not None:
            if params.query is not None:
                raise RequestError(400, "send either `query` or `documentId`, not both")
            sha256 = saved_queries.parse_document_id(params.document_id)
            if sha256 is None:
                raise RequestError(400, "`documentId` must be sha256:<64 lower-case hex digits>")
            saved = await self._saved(access, sha256)
            if saved is None:
                raise self._not_found(params)
            return Document(saved.document, saved)
        persisted = (params.extensions or {}).get("persistedQuery")
        if persisted is not None:
            return await self._automatic(params, persisted, access)
        if params.query is None:
            raise RequestError(400, "the request has no `query`")
        return Document(
            params.query, await self._saved(access, saved_queries.sha256_of(params.query))
        )

    async def _automatic(self, params: Params, persisted: object, access: Access) -> Document:
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise RequestError(400, "unsupported persistedQuery version (1 is supported)")
        sha256 = persisted.get("sha256Hash")
        if (
            not isinstance(sha256, str)
            or saved_queries.parse_document_id(f"sha256:{sha256}") is None
        ):
            raise RequestError(400, "`sha256Hash` must be 64 lower-case hex digits")
        saved = await self._saved(access, sha256)
        if params.query is None:
            if saved is not None:
                return Document(saved.document, saved)
            if (text := self.registered.get(sha256)) is not None:
                return Document(text, None)
            raise self._not_found(params)
        if saved_queries.sha256_of(params.query) != sha256:
            raise RequestError(400, "provided sha does not match query")
        if saved is None and self.config.apq_auto_register:
            self.registered[sha256] = params.query
        return Document(params.query, saved)

    async def _saved(self, access: Access, sha256: str) -> saved_queries.Saved | None:
        return await self.registry.find(self.sessionmaker, access.authorizer.version, sha256)

    async def execute(
        self, request: Request, params: Params, document: Document
    ) -> ExecutionResult:
        context: Context = self.new_context(request.state.access, request.state.request_id)
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        plan = self.fast.plan(document.text, params.operation_name) if self.fast else None
        try:
            if plan is not None and plan.verified and self.fast is not None:
                try:
                    data = await self.fast.answer(plan, params.variables, context)
                except Exception as error:
                    if is_unavailable(error):
                        raise  # ordinary execution would meet it too: 503 (app.observability)
                    log.exception("the compiled path failed; ordinary execution answers")
                    data = None
                if data is not None:  # JSON already: the response embeds it as it is
                    return ExecutionResult(data=orjson.Fragment(data), errors=None)  # type: ignore[arg-type]
            result = await self.schema.execute(
                document.text,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
            )
            if plan is not None and not result.errors:
                plan.verified = True  # parsed, validated and within every limit, as is
            return result
        except InvalidOperationTypeError as error:
            if request.method == "GET":
                raise RequestError(
                    405, "mutations are sent with POST", "METHOD_NOT_ALLOWED"
                ) from error
            raise RequestError(400, "subscriptions are not served over HTTP") from error
        except MissingQueryError as error:
            raise RequestError(400, "the request has no `query`") from error
        except CannotGetOperationTypeError as error:
            raise RequestError(400, "the operation to run cannot be determined") from error
        finally:
            await context.close()

    def request_error(self, error: RequestError, media_type: str) -> Response:
        body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
        headers = {"allow": "POST"} if error.status == 405 else {}
        if error.code == "PERSISTED_QUERY_NOT_FOUND":
            headers["cache-control"] = "private, no-cache, must-revalidate"
        return _json_response(body, error.status, media_type, headers)

    def respond(self, result: ExecutionResult, media_type: str) -> Response:
        errors = [_formatted(error) for error in result.errors or ()]
        before_execution = (
            result.data is None
            and bool(errors)
            and all(error.path is None for error in result.errors or ())
        )
        body: dict[str, object] = {}
        if not before_execution:
            body["data"] = result.data
        if errors:
            body["errors"] = errors
        if result.extensions:
            body["extensions"] = result.extensions
        # Text that cannot be stored is refused with 400 whichever the media type (a
        # saved document's literal, a report's variables; see ``schema.limits``).
        bad_text_found = any(
            (error.extensions or {}).get("code") == BAD_TEXT_CODE for error in result.errors or ()
        )
        status = (
            400 if before_execution and (media_type == GRAPHQL_RESPONSE or bad_text_found) else 200
        )
        return _json_response(body, status, media_type, {})


def _error_codes(result: ExecutionResult) -> list[str]:
    """The codes of a result's GraphQL errors."""
    codes = []
    for error in result.errors or ():
        code = (error.extensions or {}).get("code")
        if not isinstance(code, str):
            code = "GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_USER_INPUT"
        codes.append(code)
    return codes


def _formatted(error: GraphQLError) -> dict[str, Any]:
    return error.formatted  # type: ignore[return-value]


def _json_response(body: object, status: int, media_type: str, headers: dict[str, str]) -> Response:
    try:
        content = orjson.dumps(body)
    except TypeError:  # what orjson refuses (e.g. integers past 64 bits) the standard library takes
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(
        content,
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers=headers,
    )
