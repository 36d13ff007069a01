"""A GraphQL-over-HTTP request read: its parameters from a POST body or a GET query string,
each checked for its JSON type and for text that cannot be stored, and the response
media type negotiated (graphql.github.io/graphql-over-http). Anything wrong is a
``RequestError``: answered with its status and one error, no ``data``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import ClientDisconnect, Request

from schema.limits import bad_text

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
PARAMETERS = frozenset({"query", "operationName", "variables", "extensions", "documentId"})


class RequestError(Exception):
    """The request cannot be run: answered with ``status`` and one error, no ``data``."""

    def __init__(self, status: int, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclasses.dataclass(frozen=True)
class Params:
    query: str | None
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None
    document_id: str | None


def _typed(params: Mapping[str, object]) -> Params:
    """Check each parameter's JSON type, as the specification requires."""

    def text(name: str) -> str | None:
        value = params.get(name)
        if value is None or isinstance(value, str):
            return value
        raise RequestError(400, f"`{name}` must be a string")

    def mapping(name: str) -> dict[str, Any] | None:
        value = params.get(name)
        if value is None or isinstance(value, dict):
            return value
        raise RequestError(400, f"`{name}` must be a JSON object")

    return Params(
        query=text("query"),
        operation_name=text("operationName"),
        variables=mapping("variables"),
        extensions=mapping("extensions"),
        document_id=text("documentId"),
    )


def _json_parameter(name: str, value: str) -> object:
    try:
        return json.loads(value)
    except ValueError as error:
        raise RequestError(400, f"`{name}` is not valid JSON") from error


async def read_params(request: Request, max_body_bytes: int) -> Params:
    """The request's GraphQL parameters, from the query string (GET) or the JSON body."""
    if request.method == "GET":
        query_params = request.query_params
        found: dict[str, object] = {}
        for name in PARAMETERS:
            if (value := query_params.get(name)) is not None:
                is_json = name in {"variables", "extensions"}
                found[name] = _json_parameter(name, value) if is_json else value
        return _typed(found)
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != JSON:
        raise RequestError(415, "send the request as application/json", "UNSUPPORTED_MEDIA_TYPE")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
        raise RequestError(413, f"the body exceeds {max_body_bytes} bytes", "BODY_TOO_LARGE")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > max_body_bytes:
                raise RequestError(
                    413, f"the body exceeds {max_body_bytes} bytes", "BODY_TOO_LARGE"
                )
    except ClientDisconnect as error:
        # Nobody will read the answer; it is still typed (logs, metrics), not a crash.
        raise RequestError(
            400, "the client went away before the body ended", "CLIENT_GONE"
        ) from error
    try:
        decoded = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RequestError(400, "the body is not UTF-8") from error
    except ValueError as error:
        raise RequestError(400, "the body is not valid JSON") from error
    if not isinstance(decoded, dict):
        raise RequestError(400, "the body must be a JSON object (batches are not supported)")
    return _typed(decoded)


def refuse_bad_text(params: Params) -> None:
    """Every parameter — ``query``, ``operationName``, ``variables`` (keys and values,
    at any depth), ``extensions``, ``documentId`` — free of NUL and lone surrogates."""
    for value in dataclasses.astuple(params):
        if (why := bad_text(value)) is not None:
            raise RequestError(400, why)


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when we offer nothing it takes."""
    if accept is None or not accept.strip():
        return JSON
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *options = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media.lower()] = max(weight, weights.get(media.lower(), 0.0))
    candidates = {
        GRAPHQL_RESPONSE: weights.get(GRAPHQL_RESPONSE, 0.0),
        JSON: max(
            weights.get(JSON, 0.0),
            weights.get("application/*", 0.0) * 0.99,
            weights.get("*/*", 0.0) * 0.98,
        ),
    }
    best = max(candidates, key=lambda media: (candidates[media], media == GRAPHQL_RESPONSE))
    return best if candidates[best] > 0 else None
