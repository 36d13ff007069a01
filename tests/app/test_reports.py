"""Reports: saved queries as CSV and XLSX tables, paged, scoped and masked."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import openpyxl
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from app.demo import seed_saved_queries
from app.main import create_app
from app.settings import Settings
from app.system import system_context
from db import counters
from db.models import Household
from tests.conftest import token_for
from tests.helpers import TESTER, Tree, grant, make_tree

TOWNSHIP_COLUMNS = [
    "areas.code",
    "areas.name",
    "areas.rollup.households",
    "areas.rollup.visitedHouseholds",
    "areas.rollup.coverage",
    "areas.rollup.personVisits",
]
HOUSEHOLD_COLUMNS = [
    "area.code",
    "area.name",
    "area.households.group.name",
    "area.households.number",
    "area.households.headName",
    "area.households.members",
    "area.households.address",
    "area.households.phone",
]


@pytest.fixture
async def tree(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Tree:
    found = await make_tree(sessionmaker)
    async with sessionmaker.begin() as session:
        # 7 more households in the village's group: 9 in the county, 8 in the village.
        session.add_all(
            Household(
                group_id=found.group_id,
                number=f"{n:03d}",
                head_name=f"户主{n}",
                members=n,
                phone=f"1380000{n:04d}",
            )
            for n in range(2, 9)
        )
        await session.flush()
        await counters.rebuild(session)  # households are loaded, not recorded
    async with system_context(settings) as context:
        pushed = await seed_saved_queries(context)
    assert not any(p.errors for p in pushed)
    return found


@pytest.fixture
async def paged_app(settings: Settings) -> AsyncIterator[Starlette]:
    """Reports page through connections three rows at a time: many pages per report."""
    application = create_app(settings.model_copy(update={"report_page_size": 3}))
    async with application.router.lifespan_context(application):
        yield application


def client_for(app: Starlette, settings: Settings, username: str) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token_for(settings, username)}"}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.usefixtures("tree")
async def test_a_csv_report_has_the_expected_rows(client: httpx.AsyncClient) -> None:
    response = await client.get("/reports/coverage-by-township.csv")
    assert 'filename="coverage-by-township.csv"' in response.headers["content-disposition"]
    header, *rows = read_csv(response)
    assert header == TOWNSHIP_COLUMNS
    assert rows == [["519902101", "测试镇", "9", "0", "0.0", "0"]]


@pytest.mark.usefixtures("tree")
async def test_an_xlsx_report_reads_back_with_openpyxl(client: httpx.AsyncClient) -> None:
    response = await client.get("/reports/households.xlsx", params={"area": "519902101001"})
    assert response.status_code == 200, response.text
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
    assert sheet is not None
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header == HOUSEHOLD_COLUMNS
    assert [row[3] for row in rows] == [f"{n:03d}" for n in range(1, 9)]
    assert rows[0][:5] == ["519902101001", "测试村", "一组", "001", "张三"]
    assert rows[1][7] == "13800000002"  # a county leader sees phones


async def test_reports_page_through_every_household(
    paged_app: Starlette, settings: Settings, tree: Tree
) -> None:
    """Nine households at three per page: three runs of the document, one table."""
    async with client_for(paged_app, settings, TESTER) as http:
        for fmt in ("csv", "xlsx"):
            response = await http.get(f"/reports/households.{fmt}", params={"area": "519902"})
            if fmt == "csv":
                numbers = [row[3] for row in read_csv(response)[1:]]
            else:
                book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
                assert book.active is not None
                numbers = [str(r[3]) for r in list(book.active.iter_rows(values_only=True))[1:]]
            assert sorted(numbers) == sorted([f"{n:03d}" for n in range(1, 9)] + ["001"])
            assert len(numbers) == 9


async def test_a_report_keeps_the_callers_scope_and_masking(
    app: Starlette,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    tree: Tree,
) -> None:
    await grant(sessionmaker, "reporter", "reporting_tool", tree.village_id)
    async with client_for(app, settings, "reporter") as reporter:
        # The county is outside the key's village: no area, one blank row.
        county = read_csv(await reporter.get("/reports/households.csv", params={"area": "519902"}))
        assert county[1:] == [["", "", "", "", "", "", "", ""]]
        village = read_csv(
            await reporter.get("/reports/households.csv", params={"area": "519902101001"})
        )
    assert len(village) == 1 + 8
    assert all(row[7] != "13800000002" for row in village[1:])  # no personal-data right
    assert village[2][4] != "户主2"


@pytest.mark.usefixtures("tree")
@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/reports/no-such-report.csv", {}, 404, "no saved query has that name"),
        ("/reports/households.pdf", {"area": "519902"}, 404, "reports are .csv or .xlsx"),
        ("/reports/households.csv", {"area": "519902", "colour": "red"}, 400, "unknown parameter"),
        ("/reports/households.csv", {"area": "519902", "first": "many"}, 400, "is not a Int"),
        ("/reports/households.csv", {}, 400, "$area"),
        ("/reports/coverage-by-township.csv", {"from": "2026-13-01"}, 400, "Date"),
    ],
)
async def test_bad_report_requests_get_clear_errors(
    client: httpx.AsyncClient, path: str, params: dict[str, str], status: int, message: str
) -> None:
    response = await client.get(path, params=params)
    assert response.status_code == status
    assert message in response.json()["error"]


@pytest.mark.usefixtures("tree")
async def test_a_report_of_a_query_the_caller_may_not_run_does_not_exist(
    app: Starlette, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], tree: Tree
) -> None:
    await grant(sessionmaker, "aud", "auditor", tree.county_id)
    async with client_for(app, settings, "aud") as auditor:
        response = await auditor.get("/reports/households.csv", params={"area": "519902"})
    assert response.status_code == 404
