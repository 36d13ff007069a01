"""GraphiQL is served in development only."""

from __future__ import annotations

import httpx
import pytest

from app.main import create_app
from app.settings import Environment, Settings


async def _get_ide(settings: Settings) -> httpx.Response:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get("/graphql", headers={"accept": "text/html"})


@pytest.fixture
def production(settings: Settings) -> Settings:
    return settings.model_copy(update={"environment": Environment.PRODUCTION})


async def test_graphiql_in_development(settings: Settings) -> None:
    response = await _get_ide(settings)
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_no_graphiql_in_production(production: Settings) -> None:
    response = await _get_ide(production)
    assert "graphiql" not in response.text.lower()
