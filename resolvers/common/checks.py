"""Small input checks shared by mutations; each returns errors, never raises."""

from __future__ import annotations

import datetime as dt

from resolvers.common.errors import ErrorCode, InputError


def not_in_future(field: str, day: dt.date, today: dt.date) -> list[InputError]:
    if day <= today:
        return []
    return [InputError(ErrorCode.DATE_IN_FUTURE, field, f"{day.isoformat()} is after today")]


def text(field: str, value: str, *, max_length: int, required: bool = False) -> list[InputError]:
    if required and not value.strip():
        return [InputError(ErrorCode.REQUIRED, field, f"{field} must not be empty")]
    if len(value) > max_length:
        return [
            InputError(
                ErrorCode.TEXT_TOO_LONG, field, f"{field} may be at most {max_length} characters"
            )
        ]
    return []


def int_range(field: str, value: int, low: int, high: int) -> list[InputError]:
    if low <= value <= high:
        return []
    return [InputError(ErrorCode.OUT_OF_RANGE, field, f"{field} must be between {low} and {high}")]


def not_before(field: str, day: dt.date, earliest: dt.date, what: str) -> list[InputError]:
    if day >= earliest:
        return []
    return [
        InputError(
            ErrorCode.DATE_TOO_EARLY,
            field,
            f"{day.isoformat()} is before {what} ({earliest.isoformat()})",
        )
    ]
