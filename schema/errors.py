"""Typed payload errors: one GraphQL type per expected failure, all ``UserError``s."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import errors

strawberry.enum(errors.ErrorCode, description="Stable codes of expected errors.")
ErrorCode = errors.ErrorCode


@strawberry.interface(description="Something wrong with a mutation's input; nothing was written.")
class UserError:
    code: ErrorCode
    field: str = strawberry.field(description="The input field at fault.")
    message: str


@strawberry.type(description="No household has that id (or it is outside your area).")
class UnknownHousehold(UserError):
    pass


@strawberry.type(description="No cadre has that id (or it is outside your area).")
class UnknownCadre(UserError):
    pass


@strawberry.type(description="The date lies after today (in the service's time zone).")
class DateInFuture(UserError):
    pass


@strawberry.type(description="A text field is longer than its limit.")
class TextTooLong(UserError):
    pass


@strawberry.type(description="The idempotency key is empty, too short or too long.")
class InvalidIdempotencyKey(UserError):
    pass


@strawberry.type(description="The idempotency key was already used for a different request.")
class IdempotencyKeyReused(UserError):
    pass


_BY_CODE: dict[errors.ErrorCode, type[UserError]] = {
    errors.ErrorCode.UNKNOWN_HOUSEHOLD: UnknownHousehold,
    errors.ErrorCode.UNKNOWN_CADRE: UnknownCadre,
    errors.ErrorCode.DATE_IN_FUTURE: DateInFuture,
    errors.ErrorCode.TEXT_TOO_LONG: TextTooLong,
    errors.ErrorCode.INVALID_IDEMPOTENCY_KEY: InvalidIdempotencyKey,
    errors.ErrorCode.IDEMPOTENCY_KEY_REUSED: IdempotencyKeyReused,
}


def from_input_error(error: errors.InputError) -> UserError:
    return _BY_CODE[error.code](code=error.code, field=error.field, message=error.message)


RecordVisitError = Annotated[
    UnknownHousehold
    | UnknownCadre
    | DateInFuture
    | TextTooLong
    | InvalidIdempotencyKey
    | IdempotencyKeyReused,
    strawberry.union("RecordVisitError"),
]
