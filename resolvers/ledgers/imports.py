"""Import of a village ledger sheet: every row checked, then all rows or none.

The sheet's columns are ``resolvers.ledgers.sheets.COLUMNS``; its rows are checked by
``resolvers.ledgers.rows``. Each bad cell is
reported as (row, column, reason); a cell that is not text (NUL, a control
character, a lone surrogate, bytes that are not UTF-8, over 32,767 characters)
is a bad cell, and a row that repeats another's item (``_receipt``) or a CSV
record that cannot be parsed is a bad row (column ``""``). If there is any,
nothing is written. The
rows are written in one transaction with one bulk insert per table.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

from sqlalchemy.ext.asyncio import AsyncSession

from db.ledgers import (
    VILLAGE_LEDGERS,
    Ledger,
)
from db.models import Area, AreaLevel
from db.queries import areas as area_queries
from db.queries import cadres as cadre_queries
from db.queries import households as household_queries
from db.queries import ledger_items as item_queries
from policies.permissions import Act, Obj
from resolvers.common import references
from resolvers.common.context import Context
from resolvers.common.errors import ErrorCode, InputError
from resolvers.common.writes import Outcome, Rejected, digest, write_once
from resolvers.ledgers import sheets
from resolvers.ledgers.rows import Lookups, RowError, check_rows

VILLAGES = frozenset({AreaLevel.VILLAGE, AreaLevel.COMMUNITY})


@dataclasses.dataclass(frozen=True)
class ImportReport:
    imported: int
    row_errors: tuple[RowError, ...] = ()


class _RowsRejected(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(errors)
        self.errors = errors


async def import_sheet(
    context: Context,
    *,
    village_id: int | None,
    file_name: str,
    content: bytes,
    idempotency_key: str,
) -> Outcome[ImportReport]:
    """Import ``content`` into the village; a replay of the key returns the first report."""
    try:
        # CPU-bound for seconds on big files: off the event loop, which keeps serving.
        rows = await asyncio.to_thread(sheets.read, content, file_name)
    except sheets.SheetError as error:
        return Outcome(errors=(InputError(ErrorCode.INVALID_FILE, "content", str(error)),))

    async def write(session: AsyncSession) -> tuple[ImportReport, int]:
        access = context.access
        village = await references.area(
            session, "villageId", village_id, VILLAGES, access.scope(Obj.AREA)
        )
        if isinstance(village, InputError):
            raise Rejected(village)
        writable = frozenset(
            ledger
            for ledger, scope in access.ledger_scopes(Act.WRITE).items()
            if scope.admits(village.path)
        )
        if not writable & VILLAGE_LEDGERS:
            raise Rejected(InputError(ErrorCode.UNKNOWN_AREA, "villageId", "no such area"))
        lookups = await _load_lookups(context, session, village, writable)
        items, reasons, events, errors = await asyncio.to_thread(check_rows, context, rows, lookups)
        if errors:
            raise _RowsRejected(errors)
        ids = await item_queries.create_many(
            session=session, items=items, reasons=reasons, events=events
        )
        return ImportReport(imported=len(ids)), len(ids)

    async def load(_session: AsyncSession, imported: int) -> ImportReport:
        return ImportReport(imported=imported)

    request_hash = digest(village_id, file_name, hashlib.sha256(content).hexdigest())
    try:
        return await write_once(
            context,
            operation="importLedger",
            object_type="ledger_sheet",
            key=idempotency_key,
            request_hash=request_hash,
            write=write,
            load=load,
        )
    except _RowsRejected as rejected:
        return Outcome(value=ImportReport(imported=0, row_errors=tuple(rejected.errors)))


async def _load_lookups(
    context: Context, session: AsyncSession, village: Area, writable: frozenset[Ledger]
) -> Lookups:
    groups = await area_queries.list_groups_of(session=session, village=village)
    households = await household_queries.list_in_groups(
        session=session, group_ids=[g.id for g in groups]
    )
    cadres: dict[str, list[int]] = {}
    for cadre in await cadre_queries.list_visible(
        session=session,
        scope=context.access.scope(Obj.CADRE),
        self_id=context.access.cadre_id,
    ):
        cadres.setdefault(cadre.name, []).append(cadre.id)
    return Lookups(
        writable=writable,
        village=village,
        groups={g.name: g for g in groups},
        households={(h.group_id, h.number): h.id for h in households},
        cadres=cadres,
    )
