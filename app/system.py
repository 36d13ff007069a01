"""The service acting as itself (CLI, demo loading): a context with system access."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app.main import context_factory
from app.settings import Settings
from db.engine import create_engine, create_sessionmaker
from policies.authorizer import Authorizer
from resolvers.common.access import SystemAccess
from resolvers.common.context import Context


@asynccontextmanager
async def system_context(settings: Settings) -> AsyncIterator[Context]:
    engine = create_engine(settings.database_url)
    try:
        new_context = context_factory(settings, create_sessionmaker(engine))
        context = new_context(SystemAccess(Authorizer([])), "cli")
        try:
            yield context
        finally:
            await context.close()
    finally:
        await engine.dispose()
