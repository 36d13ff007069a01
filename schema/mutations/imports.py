"""``importLedger``: a village ledger sheet (XLSX or CSV), all rows or none."""

from __future__ import annotations

import base64
import binascii

import strawberry

from resolvers.common.errors import ErrorCode, InputError
from resolvers.ledgers import imports as ledger_imports
from schema.errors import ImportLedgerError, from_input_errors
from schema.mutations.visits import IDEMPOTENCY_KEY_HELP
from schema.relay import decode_id
from schema.types import Info


@strawberry.input(description="A ledger sheet to import into a village or community.")
class ImportLedgerInput:
    village_id: strawberry.ID
    file_name: str = strawberry.field(description="Ends in .xlsx or .csv; decides the format.")
    content: str = strawberry.field(description="The file, base64-encoded.")
    idempotency_key: str = strawberry.field(description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="One bad cell of an imported sheet.")
class LedgerRowError:
    row: int = strawberry.field(description="The spreadsheet's row number (the header is 1).")
    column: str = strawberry.field(description="The column's key, e.g. received_on.")
    message: str


@strawberry.type
class ImportLedgerPayload:
    imported: int = strawberry.field(description="Items written; 0 when anything was wrong.")
    row_errors: list[LedgerRowError] = strawberry.field(
        description="Every bad cell; when there is any, nothing was written."
    )
    errors: list[ImportLedgerError]
    replayed: bool


@strawberry.type
class ImportMutations:
    @strawberry.mutation(description="Import a village ledger sheet: every row, or none.")
    async def import_ledger(self, info: Info, input: ImportLedgerInput) -> ImportLedgerPayload:
        try:
            content = base64.b64decode(input.content, validate=True)
        except (binascii.Error, ValueError):
            error = InputError(ErrorCode.INVALID_FILE, "content", "content is not base64")
            return ImportLedgerPayload(
                imported=0, row_errors=[], errors=from_input_errors((error,)), replayed=False
            )
        outcome = await ledger_imports.import_sheet(
            info.context,
            village_id=decode_id(input.village_id, "Area"),
            file_name=input.file_name,
            content=content,
            idempotency_key=input.idempotency_key,
        )
        report = outcome.value
        return ImportLedgerPayload(
            imported=report.imported if report else 0,
            row_errors=[
                LedgerRowError(row=e.row, column=e.column, message=e.message)
                for e in (report.row_errors if report else ())
            ],
            errors=from_input_errors(outcome.errors),
            replayed=outcome.replayed,
        )
