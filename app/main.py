"""The Starlette application factory: the only place where the pieces meet."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app import files
from app.settings import Settings
from db import migrate
from db.engine import create_engine, create_sessionmaker
from resolvers.context import Context
from schema.root import schema


class DatabaseNotReady(RuntimeError):
    """The database is missing migrations: the server refuses to start on it."""


def not_ready_message(state: migrate.MigrationState) -> str:
    current = state.current or "none (empty database)"
    return (
        f"the database is not migrated: it is at revision {current}, this code needs "
        f"{state.head}. Run `grassroots db upgrade` (with the same DATABASE_URL) first."
    )


def context_factory(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> Callable[[], Context]:
    """Builds each request's context from the settings."""
    deadline_days = settings.deadline_days()

    def new_context() -> Context:
        return Context(
            sessionmaker=sessionmaker,
            zone=settings.zone,
            max_page_size=settings.max_page_size,
            default_page_size=settings.default_page_size,
            deadline_days=deadline_days,
        )

    return new_context


def create_app(given: Settings | None = None) -> Starlette:
    settings = given or Settings()
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    new_context = context_factory(settings, create_sessionmaker(engine))

    class GraphQLApp(GraphQL[Context, None]):
        async def get_context(
            self, request: Request | WebSocket, response: Response | WebSocket
        ) -> Context:
            return new_context()

    graphql_app = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state = await migrate.state(engine)
        if not state.is_current:
            await engine.dispose()
            raise DatabaseNotReady(not_ready_message(state))
        yield
        await engine.dispose()

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def root(_request: Request) -> Response:
        return RedirectResponse("/graphql")

    return Starlette(
        routes=[
            Route("/", root),
            Route("/healthz", healthz),
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            *files.routes(new_context),
        ],
        lifespan=lifespan,
    )
