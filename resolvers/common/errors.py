"""Expected errors: typed input errors for payloads, and argument errors for queries."""

from __future__ import annotations

import dataclasses
import enum

from db.engine import is_unavailable as is_unavailable  # the database went away


class ErrorCode(enum.StrEnum):
    """Stable codes of expected errors; front ends switch on these, not on messages."""

    UNKNOWN_HOUSEHOLD = "unknown_household"
    UNKNOWN_CADRE = "unknown_cadre"
    UNKNOWN_AREA = "unknown_area"
    UNKNOWN_DEPARTMENT = "unknown_department"
    UNKNOWN_MEETING = "unknown_meeting"
    UNKNOWN_SOURCE = "unknown_source"
    UNKNOWN_LEDGER_ITEM = "unknown_ledger_item"
    UNKNOWN_LEDGER = "unknown_ledger"
    UNKNOWN_CATEGORY = "unknown_category"
    WRONG_AREA_LEVEL = "wrong_area_level"
    NOT_IN_AREA = "not_in_area"
    DATE_IN_FUTURE = "date_in_future"
    DATE_TOO_EARLY = "date_too_early"
    TEXT_TOO_LONG = "text_too_long"
    REQUIRED = "required"
    OUT_OF_RANGE = "out_of_range"
    NOT_ALLOWED_HERE = "not_allowed_here"
    ILLEGAL_TRANSITION = "illegal_transition"
    CONCURRENT_CHANGE = "concurrent_change"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INVALID_FILE = "invalid_file"
    INVALID_DOCUMENT = "invalid_document"


@dataclasses.dataclass(frozen=True)
class InputError:
    """One thing wrong with a mutation's input; ``field`` is the input field's name."""

    code: ErrorCode
    field: str
    message: str


class ArgumentError(Exception):
    """A query argument out of range (page size, cursor): shown to the client as is."""
