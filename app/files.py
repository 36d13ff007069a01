"""Files over plain HTTP: the ledger sheet template, and ledger views as XLSX."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.ledgers import CATALOG, VILLAGE_LEDGERS, Resolution, Satisfaction, Status
from db.models import Area
from resolvers import areas as area_resolvers
from resolvers.common.context import Context
from resolvers.common.errors import ArgumentError
from resolvers.ledgers import exports as ledger_exports
from resolvers.ledgers import sheets
from resolvers.ledgers.reads import FilterArgs
from schema.relay import decode_id
from schema.scalars import iso_date

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment(content: bytes, media_type: str, name: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def routes(new_context: Callable[[Request], Context]) -> list[Route]:
    async def template_xlsx(request: Request) -> Response:
        context = new_context(request)
        ledgers = [ledger for ledger in VILLAGE_LEDGERS if ledger in context.visible_ledgers]
        choices = {
            "ledger": sorted(ledger.value for ledger in ledgers),
            "status": [s.value for s in Status],
            "resolution": [r.value for r in Resolution],
            "satisfaction": [s.value for s in Satisfaction],
        }
        categories = sorted({c for ledger in ledgers for c in CATALOG[ledger].categories})
        choices["category"] = categories
        return _attachment(sheets.template_xlsx(choices), XLSX, "ledger-template.xlsx")

    async def template_csv(_request: Request) -> Response:
        return _attachment(sheets.template_csv(), "text/csv; charset=utf-8", "ledger-template.csv")

    async def export_xlsx(request: Request) -> Response:
        context = new_context(request)
        try:
            area = await _area(context, request.query_params.get("area", ""))
            if area is None:
                return _error(404, "no such area")
            content = await ledger_exports.export_xlsx(context, area, _filter_args(request))
        except ArgumentError as error:
            return _error(400, str(error))
        finally:
            await context.close()
        stamp = (area.code or str(area.id)) if area else "ledger"
        return _attachment(content, XLSX, f"ledger-{stamp}.xlsx")

    return [
        Route("/ledgers/template.xlsx", template_xlsx),
        Route("/ledgers/template.csv", template_csv),
        Route("/ledgers/export.xlsx", export_xlsx),
    ]


async def _area(context: Context, value: str) -> Area | None:
    """An area by global id or by national division code."""
    if value.isdigit():
        return await area_resolvers.by_code(context, code=value)
    area_id = decode_id(value, "Area")
    return await area_resolvers.by_id(context, area_id=area_id) if area_id else None


def _filter_args(request: Request) -> FilterArgs:
    params = request.query_params

    def many(name: str) -> list[str] | None:
        values = [v for value in params.getlist(name) for v in value.split(",") if v]
        return values or None

    def day(name: str) -> dt.date | None:
        value = params.get(name)
        if not value:
            return None
        try:
            return iso_date(value)
        except ValueError:
            raise ArgumentError(f"`{name}` is not a date (YYYY-MM-DD)") from None

    statuses = None
    if names := many("status"):
        try:
            statuses = [Status(name.lower()) for name in names]
        except ValueError:
            raise ArgumentError("unknown status") from None
    overdue = params.get("overdue")
    if overdue not in (None, "true", "false"):
        raise ArgumentError("`overdue` is true or false")
    responsible = params.get("responsible")
    return FilterArgs(
        ledgers=many("ledger"),
        categories=many("category"),
        statuses=statuses,
        overdue=None if overdue is None else overdue == "true",
        as_of=day("asOf"),
        responsible_id=(decode_id(responsible, "Cadre") or 0) if responsible else None,
        received_from=day("receivedFrom"),
        received_to=day("receivedTo"),
    )
