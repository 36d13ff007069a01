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

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import send_json
from db import policy_version as versions
from resolvers.access import Access
from resolvers.auth import AuthConfig, AuthError, PrincipalCache
from resolvers.policy_store import PolicyStore

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/"})


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
        policies: PolicyStore,
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
