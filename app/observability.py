"""Operations: request ids, JSON-lines logs, Prometheus metrics, and the last-resort 500.

``Observe`` is the outermost middleware. Each request gets an id (kept from a
well-formed ``X-Request-Id`` header, else new), echoed in the response's
``X-Request-Id``; when the request ends one JSON line is logged: request id,
user, method, path, GraphQL operation name, status, outcome, duration. Inner
layers fill in the user (``app.security``) and the operation and outcome
(``app.graphql_http``) through ``scope["state"]``.

An exception that escapes everything else is logged with its traceback and
answered ``500`` with a generic error carrying the request id — never the
exception's text. One that says the database is unavailable
(``db.engine.is_unavailable``: wherever it arose — the door, a file route, a
report, closing a request's session) is answered ``503`` with ``Retry-After``
and the code ``SERVICE_UNAVAILABLE`` instead, and logged as a warning.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import time
import traceback
import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.engine import is_unavailable
from schema.errors import SERVICE_UNAVAILABLE, UNAVAILABLE_MESSAGE

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = logging.getLogger("grassroots.requests")
# Seconds a client is asked to wait before retrying when the database is away.
RETRY_AFTER_SECONDS = 2

# Path → route label, so metrics do not grow with report names or ids.
ROUTES = (
    ("/graphql", "graphql"),
    ("/reports/", "reports"),
    ("/ledgers/", "ledgers"),
    ("/healthz", "healthz"),
    ("/readyz", "readyz"),
    ("/metrics", "metrics"),
)


def route_of(path: str) -> str:
    for prefix, label in ROUTES:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return label
    return "other"


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "grassroots_requests",
            "HTTP requests, by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "grassroots_request_duration_seconds",
            "Time from the request's arrival to the end of its response",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.errors = Counter(
            "grassroots_errors",
            "Errors answered, by code (GraphQL error codes, typed payload errors, HTTP)",
            ["code"],
            registry=self.registry,
        )

        self.rollup_answers = Counter(
            "grassroots_rollup_answers",
            "Answers of the compiled rollup path, by how: kept (from the response cache),"
            " changed (kept, but its area had moved on: computed again), computed",
            ["outcome"],
            registry=self.registry,
        )

    def rollup_answer(self, outcome: str) -> None:
        self.rollup_answers.labels(outcome=outcome).inc()

    def error(self, code: str) -> None:
        self.errors.labels(code=code).inc()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's extras."""

    FIELDS = ("request_id", "user", "method", "path", "operation", "status", "outcome")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which server process, with `serve --workers N`
        }
        for field in (*self.FIELDS, "duration_ms"):
            if (value := getattr(record, field, None)) is not None:
                entry[field] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = "".join(traceback.format_exception(*record.exc_info)).strip()
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the service's loggers (``grassroots serve``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("grassroots", "strawberry", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def _request_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            given: str = value.decode("latin-1")
            if REQUEST_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


class Observe:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        request_id = state["request_id"] = _request_id(scope)
        status = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if is_unavailable(error):
                log.warning(
                    "the database is unavailable (%s)",
                    type(error).__name__,
                    extra={"request_id": request_id},
                )
                state["outcome"] = SERVICE_UNAVAILABLE
                if status[0] == 0:
                    status[0] = 503
                    await send_unavailable(send_with_id, request_id)
                return
            log.exception("unhandled error", extra={"request_id": request_id})
            state["outcome"] = "INTERNAL_SERVER_ERROR"
            if status[0] == 0:
                status[0] = 500
                await _internal_error(send_with_id, request_id)
            # A response already started cannot change its status: the client sees
            # the body cut short, and the log line above says why.
        finally:
            self._finish(scope, state, status[0], started)

    def _finish(self, scope: Scope, state: dict[str, Any], status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = route_of(scope["path"])
        self.metrics.requests.labels(route=route, method=scope["method"], status=str(status)).inc()
        self.metrics.latency.labels(route=route).observe(elapsed)
        outcome = state.get("outcome") or ("ok" if status < 400 else f"HTTP_{status}")
        if status >= 400 and not state.get("errors_counted"):
            self.metrics.error(outcome)
        log.info(
            "request",
            extra={
                "request_id": state.get("request_id"),
                "user": state.get("username"),
                "method": scope["method"],
                "path": scope["path"],
                "operation": state.get("operation"),
                "status": status,
                "outcome": outcome,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )


async def send_json(
    send: Send, status: int, body: object, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A whole JSON response, from a middleware (below Starlette's Response)."""
    content = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def unavailable_error(request_id: str) -> dict[str, Any]:
    """The one error of a request the database could not answer."""
    return {
        "message": UNAVAILABLE_MESSAGE,
        "extensions": {"code": SERVICE_UNAVAILABLE, "requestId": request_id},
    }


def retry_after() -> dict[str, str]:
    return {"retry-after": str(RETRY_AFTER_SECONDS)}


async def send_unavailable(send: Send, request_id: str) -> None:
    headers = [(key.encode(), value.encode()) for key, value in retry_after().items()]
    await send_json(send, 503, {"errors": [unavailable_error(request_id)]}, headers)


async def _internal_error(send: Send, request_id: str) -> None:
    error = {
        "message": "Internal server error",
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    }
    await send_json(send, 500, {"errors": [error]})
