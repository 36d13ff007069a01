"""Authentication at the door: every request to the API names a user, or gets 401.

A bearer JWT or an API key (``Authorization: Bearer …`` or ``X-API-Key: …``)
becomes the request's ``Access``: the principal and the current authorizer.
Open without credentials: ``/healthz``, ``/readyz``, ``/metrics`` (counts by
route and status only) and, where enabled, the GraphiQL page (it holds no
data; its queries carry a token like any other client's).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from app.observability import send_json
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
        graphiql: bool,
    ) -> None:
        self.app = app
        self.sessionmaker = sessionmaker
        self.config = config
        self.policies = policies
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
        async with self.sessionmaker() as session:
            authorizer = await self.policies.current(session)
            try:
                principal = await self.principals.principal(
                    session, self.config, credential, authorizer.version
                )
            except AuthError:
                scope.setdefault("state", {})["outcome"] = "UNAUTHENTICATED"
                await _unauthorized(send, "invalid credentials")
                return
        state = scope.setdefault("state", {})
        state["access"] = Access(principal, authorizer)
        state["username"] = principal.username
        state.setdefault("request_id", uuid.uuid4().hex)
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, message: str) -> None:
    challenge = (b"www-authenticate", b'Bearer realm="grassroots"')
    await send_json(send, 401, {"errors": [{"message": message}]}, [challenge])
