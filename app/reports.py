"""Reports: a saved query's result as a CSV or XLSX table, streamed.

``GET /reports/{name}.csv`` (or ``.xlsx``) runs the saved query ``name`` with
the caller's scope and masking, taking its variables from the query string
(``?area=510104&from=2026-01-01``; repeat a parameter for a list). Nested lists
become rows with the parent columns repeated (see ``resolvers.report_table``).

When the document pages a connection by a variable (``after: $after`` with
``pageInfo { hasNextPage endCursor }``), the report runs it page after page,
each with a fresh request context, and writes each page out before asking for
the next: a county's 260,000 households export in bounded memory. The first
page runs before the response starts, so a bad parameter still gets a 400.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from typing import IO, Any

import graphql
from openpyxl import Workbook
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from strawberry import Schema

from app import report_table
from app.files import XLSX
from db.engine import Unavailable
from resolvers import saved_queries
from resolvers.common import cells
from resolvers.common.access import Access
from resolvers.common.context import Context
from schema.errors import SERVICE_UNAVAILABLE
from schema.limits import NUL_MESSAGE

log = logging.getLogger("grassroots.reports")

NewContext = Callable[[Access, str, int], Context]
CSV_CHUNK_ROWS = 500


class ReportError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def coerce_variables(
    schema: graphql.GraphQLSchema,
    document: graphql.DocumentNode,
    given: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """Query-string parameters as the document's variables, typed by its declarations."""
    operation = graphql.get_operation_ast(document)
    assert operation is not None  # saved queries hold exactly one operation
    declared = {
        d.variable.name.value: graphql.type_from_ast(schema, d.type)
        for d in operation.variable_definitions or ()
    }
    if any("\x00" in value for _, value in given):
        raise ReportError(400, NUL_MESSAGE)
    names = {name for name, _ in given}
    if unknown := sorted(names - set(declared)):
        allowed = ", ".join(sorted(declared)) or "none"
        raise ReportError(400, f"unknown parameter(s): {', '.join(unknown)}; it takes: {allowed}")
    variables: dict[str, Any] = {}
    for name in names:
        input_type = declared[name]
        values = [value for key, value in given if key == name]
        nullable = graphql.get_nullable_type(input_type)  # type: ignore[arg-type]
        if isinstance(nullable, graphql.GraphQLList):
            variables[name] = [_scalar(name, v, nullable.of_type) for v in values]
        else:
            variables[name] = _scalar(name, values[-1], nullable)
    return variables


def _scalar(name: str, value: str, input_type: Any) -> object:
    named = graphql.get_named_type(input_type)
    try:
        if named is graphql.GraphQLInt:
            return int(value)
        if named is graphql.GraphQLFloat:
            return float(value)
        if named is graphql.GraphQLBoolean:
            if value.lower() not in {"true", "false"}:
                raise ValueError(value)
            return value.lower() == "true"
        if isinstance(named, graphql.GraphQLInputObjectType):
            return json.loads(value)
    except ValueError as error:
        raise ReportError(400, f"parameter {name}: {value!r} is not a {named.name}") from error
    return value


class Runner:
    """Runs a saved query page by page for one report request."""

    def __init__(
        self,
        schema: Schema,
        new_context: Callable[[], Context],
        saved: saved_queries.Saved,
        plan: report_table.Plan,
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.new_context = new_context
        self.saved = saved
        self.plan = plan
        self.variables = variables

    async def page(self) -> dict[str, Any]:
        context = self.new_context()
        try:
            result = await self.schema.execute(
                self.saved.document, variable_values=self.variables, context_value=context
            )
        finally:
            await context.close()
        if result.errors:
            codes = {(error.extensions or {}).get("code") for error in result.errors}
            if SERVICE_UNAVAILABLE in codes:
                # The door (app.observability) answers it 503 with Retry-After.
                raise Unavailable("the database became unavailable during a report")
            if codes & {"INTERNAL_SERVER_ERROR", "TIMEOUT"}:
                # Masked already (and logged under the request id): no detail here.
                raise ReportError(500, "Internal server error")
            raise ReportError(400, "; ".join(error.message for error in result.errors))
        return result.data or {}

    async def pages(self, first: dict[str, Any]) -> AsyncIterator[list[list[object]]]:
        """Rows page by page, starting with the already-run ``first`` page."""
        data = first
        while True:
            yield list(report_table.rows(self.plan, data))
            has_next, cursor = report_table.page_info(self.plan, data)
            if not has_next or self.plan.paged_variable is None or cursor is None:
                return
            self.variables = {**self.variables, self.plan.paged_variable: cursor}
            data = await self.page()


def _csv_text(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # Text a spreadsheet would run as a formula goes out inert (see resolvers.common.cells).
    writer.writerows([[cells.csv_value(cell) for cell in row] for row in rows])
    return buffer.getvalue()


async def _csv_stream(
    columns: Sequence[str], pages: AsyncIterator[list[list[object]]]
) -> AsyncIterator[bytes]:
    # The byte-order mark makes Excel read the file as UTF-8 (Chinese names).
    yield ("\ufeff" + _csv_text([list(columns)])).encode("utf-8")
    async for rows in pages:
        for start in range(0, len(rows), CSV_CHUNK_ROWS):
            yield _csv_text(rows[start : start + CSV_CHUNK_ROWS]).encode("utf-8")


async def _xlsx_file(columns: Sequence[str], pages: AsyncIterator[list[list[object]]]) -> IO[bytes]:
    """The report as an XLSX in a temporary file (write-only mode keeps memory bounded)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("report")
    sheet.append(cells.xlsx_row(sheet, list(columns)))

    def append(rows: list[list[object]]) -> None:
        for row in rows:
            # Text as string cells, never formulas (see resolvers.common.cells).
            sheet.append(cells.xlsx_row(sheet, row))

    async for rows in pages:
        await asyncio.to_thread(append, rows)
    file = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, closed there
    await asyncio.to_thread(workbook.save, file)
    file.seek(0)
    return file


async def _file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, 256 * 1024):
            yield chunk
    finally:
        file.close()


def routes(*, schema: Schema, new_context: NewContext, page_size: int) -> list[Route]:
    graphql_schema = schema._schema

    async def report(request: Request) -> Response:
        name = request.path_params["name"]
        fmt = request.path_params["format"]
        access: Access = request.state.access
        request_id: str = request.state.request_id
        request.scope["state"]["operation"] = f"report:{name}.{fmt}"

        def fresh() -> Context:
            return new_context(access, request_id, page_size)

        lookup = fresh()
        try:
            saved = await saved_queries.get(lookup, name=name)
        finally:
            await lookup.close()
        if saved is None:
            return JSONResponse({"error": "no saved query has that name"}, status_code=404)
        try:
            document = graphql.parse(saved.document)
            plan = report_table.plan(graphql_schema, document)
            variables = coerce_variables(
                graphql_schema, document, list(request.query_params.multi_items())
            )
            runner = Runner(schema, fresh, saved, plan, variables)
            first = await runner.page()
        except (ReportError, report_table.ReportShapeError) as error:
            status = error.status if isinstance(error, ReportError) else 400
            return JSONResponse({"error": str(error)}, status_code=status)
        disposition = {"content-disposition": f'attachment; filename="{name}.{fmt}"'}
        if fmt == "csv":
            return StreamingResponse(
                _csv_stream(plan.columns, runner.pages(first)),
                media_type="text/csv; charset=utf-8",
                headers=disposition,
            )
        file = await _xlsx_file(plan.columns, runner.pages(first))
        return StreamingResponse(_file_chunks(file), media_type=XLSX, headers=disposition)

    return [Route("/reports/{name}.{format:str}", _only_formats(report))]


def _only_formats(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def guarded(request: Request) -> Response:
        if request.path_params.get("format") not in {"csv", "xlsx"}:
            return JSONResponse({"error": "reports are .csv or .xlsx"}, status_code=404)
        response: Response = await endpoint(request)
        return response

    return guarded
