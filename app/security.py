"""Authentication at the door: every request to the API names a user, or gets 401.

A bearer JWT or an API key (``Authorization: Bearer …`` or ``X-API-Key: …``)
becomes the request's ``Access``: the principal and the current authorizer.
Open without credentials: ``/healthz``, ``/readyz``, ``/metrics`` (counts by
route and status only) and, where enabled, the GraphiQL page (it holds no
data; its queries carry a token like any other client's).

The door costs no database round trip when the policy version is known (the
process's ``VersionWatch``, kept by LISTEN/NOTIFY on PostgreSQL) and the
principal and authorizer of that version are in hand; otherwise it opens one
session for what is missing (always on SQLite: the version row is read per
request). A request that changed the policy answers only after every server
process holds the new version (``db.policy_version.settle``).
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote_to_bytes

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import AuthConfig, AuthError, PrincipalCache
from app.observability import send_json
from db import policy_version as versions
from policies.store import PolicyStore
from resolvers.common.access import Access
from schema.limits import NUL_MESSAGE, SURROGATE_MESSAGE, bad_text

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/"})


CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")


def _duplicated_credential(scope: Scope) -> str | None:
    """The credential header sent more than once, if one was: such a request names no
    one user (which copy counts would be the server's guess), so it is refused."""
    seen: set[bytes] = set()
    for key, _value in scope["headers"]:
        name: bytes = key.lower()
        if name in CREDENTIAL_HEADERS:
            if name in seen:
                return name.decode()
            seen.add(name)
    return None


def _credential(scope: Scope) -> str | None:
    headers = {key.decode("latin-1").lower(): value for key, value in scope["headers"]}
    if api_key := headers.get("x-api-key"):
        text: str = api_key.decode("latin-1").strip()
        return text or None
    authorization: str = headers.get("authorization", b"").decode("latin-1").strip()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# Headers the service reads as text: UTF-8 (so ASCII in practice), like the body.
TEXT_HEADERS = frozenset(
    {b"authorization", b"x-api-key", b"x-request-id", b"accept", b"content-type"}
)
NOT_UTF8 = "is not UTF-8 text"


def _bad_bytes(raw: bytes) -> str | None:
    """Why bytes meant as UTF-8 text cannot be taken; None when they can."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # A lone surrogate's encoding (ED A0..BF ..) is not UTF-8; say so by name.
        return SURROGATE_MESSAGE if _has_surrogate(raw) else NOT_UTF8
    return bad_text(text)


def _has_surrogate(raw: bytes) -> bool:
    return any(raw[i] == 0xED and 0xA0 <= raw[i + 1] <= 0xBF for i in range(len(raw) - 1))


def unencodable_input(scope: Scope) -> str | None:
    """Why the request's path, query string or headers cannot be taken; None if they can.

    The body's text is checked where it is read (``app.graphql_http``); these are
    checked here, at the door, for every route alike: NUL in any header, and in what
    the service reads as text — the path and each query parameter after
    percent-decoding, the headers of ``TEXT_HEADERS`` — NUL or bytes that are not
    UTF-8, a lone surrogate's encoding among them (percent-decoding would otherwise
    turn it into U+FFFD without a word).
    """
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        if b"\x00" in value:
            return f"header {name}: {NUL_MESSAGE}"
        text_header = key.lower() in TEXT_HEADERS and not value.isascii()
        if text_header and (why := _bad_bytes(value)) is not None:
            return f"header {name}: {why}"
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
    if (why := _bad_percent_encoded(raw_path.partition(b"?")[0])) is not None:
        return f"the path: {why}"
    query_string: bytes = scope.get("query_string") or b""
    for part in query_string.split(b"&") if query_string else ():
        if (why := _bad_percent_encoded(part.replace(b"+", b" "))) is not None:
            return f"query parameter {_printable(part.partition(b'=')[0])}: {why}"
    return None


def _bad_percent_encoded(raw: bytes) -> str | None:
    decoded = unquote_to_bytes(raw) if b"%" in raw else raw
    if decoded.isascii():
        return NUL_MESSAGE if b"\x00" in decoded else None
    return _bad_bytes(decoded)


def _printable(name: bytes) -> str:
    return unquote_to_bytes(name).decode("utf-8", "replace").replace("\x00", "?")


class RefuseUnencodable:
    """Refuses, with 400 before anything else runs, a request whose path, query
    string or headers carry text that cannot be stored (see ``unencodable_input``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (why := unencodable_input(scope)) is not None:
            state = scope.setdefault("state", {})
            state["outcome"] = "BAD_REQUEST"
            error = {"message": why, "extensions": {"code": "BAD_REQUEST"}}
            await send_json(send, 400, {"errors": [error]})
            return
        await self.app(scope, receive, send)


def _wants_html(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key.lower() == b"accept":
            return b"text/html" in value
    return False


class Authenticate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: AuthConfig,
        policies: PolicyStore[AsyncSession],
        watch: versions.VersionWatch,
        graphiql: bool,
    ) -> None:
        self.app = app
        self.sessionmaker = sessionmaker
        self.config = config
        self.policies = policies
        self.watch = watch
        self.graphiql = graphiql
        self.principals = PrincipalCache()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        is_ide = (
            self.graphiql
            and scope["path"] == "/graphql"
            and scope["method"] == "GET"
            and _wants_html(scope)
            and not scope.get("query_string")
        )
        if is_ide:
            await self.app(scope, receive, send)
            return
        if (duplicated := _duplicated_credential(scope)) is not None:
            # 400, not 401: the request is malformed (the header is a singleton, RFC
            # 9110 §11.6.2), not lacking credentials; a challenge would invite a retry
            # with yet another header.
            scope.setdefault("state", {})["outcome"] = "DUPLICATE_CREDENTIALS"
            error = {
                "message": f"the {duplicated} header may be sent once only",
                "extensions": {"code": "DUPLICATE_CREDENTIALS"},
            }
            await send_json(send, 400, {"errors": [error]})
            return
        credential = _credential(scope)
        if credential is None:
            scope.setdefault("state", {})["outcome"] = "UNAUTHENTICATED"
            await _unauthorized(send, "authentication required")
            return
        commits = versions.local_commits()
        try:
            access = await self.access(credential)
        except AuthError:
            scope.setdefault("state", {})["outcome"] = "UNAUTHENTICATED"
            await _unauthorized(send, "invalid credentials")
            return
        state = scope.setdefault("state", {})
        state["access"] = access
        state["username"] = access.principal.username
        state.setdefault("request_id", uuid.uuid4().hex)

        async def send_settled(message: Message) -> None:
            # A policy change committed by this process during the request: answer
            # once every process holds it, so that whatever the client does next,
            # anywhere, is decided by it.
            if message["type"] == "http.response.start" and versions.local_commits() != commits:
                await self.settle()
            await send(message)

        await self.app(scope, receive, send_settled)

    async def access(self, credential: str) -> Access:
        """The caller's principal and the authorizer of the current version, or AuthError."""
        identity = self.principals.identity(self.config, credential)
        version = self.watch.known()
        if version is not None:
            authorizer = self.policies.cached(version)
            principal = self.principals.cached(identity, version)
            if authorizer is not None and principal is not None:
                return Access(principal, authorizer)  # no database at all
        async with self.sessionmaker() as session:
            if version is None:
                authorizer = await self.policies.current(session)
            else:
                authorizer = await self.policies.at(session, version)
            principal = self.principals.cached(identity, authorizer.version)
            if principal is None:
                principal = await self.principals.load(
                    session, self.config, credential, identity, authorizer.version
                )
        return Access(principal, authorizer)

    async def settle(self) -> None:
        version = versions.last_local_version(self.watch.engine.url)
        if version is not None:
            await versions.settle(self.watch.engine, version)


async def _unauthorized(send: Send, message: str) -> None:
    challenge = (b"www-authenticate", b'Bearer realm="grassroots"')
    await send_json(send, 401, {"errors": [{"message": message}]}, [challenge])
