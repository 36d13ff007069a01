"""Operations: /healthz, /readyz, /metrics, and the JSON-lines request log."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.observability import JsonFormatter
from tests.helpers import TESTER, make_tree


@pytest.fixture(autouse=True)
async def tree(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await make_tree(sessionmaker)


async def test_health_and_readiness(
    anonymous: httpx.AsyncClient, clean_engine: AsyncEngine
) -> None:
    assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
    ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "reachable", "migrations": "current"}
    async with clean_engine.begin() as connection:
        current = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
        await connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))
    try:
        stale = await anonymous.get("/readyz")
        assert stale.status_code == 503
        assert stale.json()["migrations"] == "pending"
    finally:
        async with clean_engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": current}
            )


async def test_metrics_count_requests_latency_and_errors(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await client.post("/graphql", json={"query": "{ me { username } }"})
    await client.post("/graphql", json={"query": "{ nosuch }"})
    await client.post("/graphql", json={"documentId": f"sha256:{'0' * 64}"})
    bad_key = 'mutation { recordVisit(input: {householdId: "x", cadreId: "y", visitedOn: "2014-01-01", idempotencyKey: "k"}) { visit { id } } }'  # noqa: E501
    await client.post("/graphql", json={"query": bad_key})
    await anonymous.get("/graphql", params={"query": "{ me { username } }"})
    page = (await anonymous.get("/metrics")).text
    assert 'grassroots_requests_total{method="POST",route="graphql",status="200"} 3.0' in page
    assert 'grassroots_requests_total{method="POST",route="graphql",status="404"} 1.0' in page
    assert 'grassroots_requests_total{method="GET",route="graphql",status="401"} 1.0' in page
    assert 'grassroots_request_duration_seconds_count{route="graphql"}' in page
    assert 'grassroots_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1.0' in page
    assert 'grassroots_errors_total{code="DOCUMENT_NOT_FOUND"} 1.0' in page
    assert 'grassroots_errors_total{code="INVALID_IDEMPOTENCY_KEY"} 1.0' in page
    assert 'grassroots_errors_total{code="UNAUTHENTICATED"} 1.0' in page


async def test_each_request_is_one_log_line_with_its_facts(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="grassroots.requests"):
        response = await client.post(
            "/graphql", json={"query": "query Me { me { username } }", "operationName": "Me"}
        )
    records = [r for r in caplog.records if r.name == "grassroots.requests"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["message"] == "request" and line["level"] == "info"
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["user"] == TESTER
    assert line["operation"] == "Me"
    assert line["method"] == "POST" and line["path"] == "/graphql"
    assert line["status"] == 200 and line["outcome"] == "ok"
    assert isinstance(line["duration_ms"], float)


def test_the_formatter_writes_tracebacks_into_the_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError as error:
        record = logging.LogRecord(
            "grassroots.errors", logging.ERROR, __file__, 1, "failed", (), (ValueError, error, None)
        )
    record.request_id = "r1"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "r1" and "ValueError: boom" in line["error"]
