"""Expected errors: typed input errors for payloads, and argument errors for queries."""

from __future__ import annotations

import dataclasses
import enum


class ErrorCode(enum.StrEnum):
    """Stable codes of expected errors; front ends switch on these, not on messages."""

    UNKNOWN_HOUSEHOLD = "unknown_household"
    UNKNOWN_CADRE = "unknown_cadre"
    DATE_IN_FUTURE = "date_in_future"
    TEXT_TOO_LONG = "text_too_long"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"


@dataclasses.dataclass(frozen=True)
class InputError:
    """One thing wrong with a mutation's input; ``field`` is the input field's name."""

    code: ErrorCode
    field: str
    message: str


class ArgumentError(Exception):
    """A query argument out of range (page size, cursor): shown to the client as is."""
