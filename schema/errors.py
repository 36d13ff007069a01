"""Typed payload errors: one GraphQL type per expected failure, all ``UserError``s."""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Annotated, Union

import strawberry

from resolvers.common import errors
from resolvers.common.errors import ErrorCode

strawberry.enum(ErrorCode, description="Stable codes of expected errors.")

# The GraphQL error (``extensions.code``) of a request the database could not
# answer (``db.engine.is_unavailable``): HTTP 503 with Retry-After, and nothing
# of the driver's text.
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "the database is unavailable; retry shortly"


@strawberry.interface(description="Something wrong with a mutation's input; nothing was written.")
class UserError:
    code: ErrorCode
    field: str = strawberry.field(description="The input field at fault.")
    message: str


def _error(name: str, description: str) -> type[UserError]:
    cls = type(name, (UserError,), {"__doc__": description})
    return strawberry.type(cls, description=description)


UnknownHousehold = _error(
    "UnknownHousehold", "No household has that id (or it is outside your area)."
)
UnknownCadre = _error("UnknownCadre", "No cadre has that id (or it is outside your area).")
UnknownArea = _error("UnknownArea", "No area has that id (or it is outside your area).")
UnknownDepartment = _error("UnknownDepartment", "No department has that id.")
UnknownMeeting = _error("UnknownMeeting", "No meeting has that id.")
UnknownSource = _error(
    "UnknownSource", "The visit, meeting or suggestion named as source does not exist."
)
UnknownLedgerItem = _error("UnknownLedgerItem", "No ledger item has that id.")
UnknownLedger = _error("UnknownLedger", "No ledger has that name.")
UnknownCategory = _error("UnknownCategory", "The category (or reason) is not one of the ledger's.")
WrongAreaLevel = _error("WrongAreaLevel", "The area is of a level this cannot be recorded at.")
NotInArea = _error("NotInArea", "The object lies outside the area it must belong to.")
DateInFuture = _error("DateInFuture", "The date lies after today (in the service's time zone).")
DateTooEarly = _error("DateTooEarly", "The date lies before a date it must follow.")
TextTooLong = _error("TextTooLong", "A text field is longer than its limit.")
Required = _error("Required", "A value this case needs is missing or empty.")
OutOfRange = _error("OutOfRange", "A number or amount is outside its allowed range.")
NotAllowedHere = _error("NotAllowedHere", "A value was given that this case does not take.")
IllegalTransition = _error("IllegalTransition", "The item's status does not allow this action.")
ConcurrentChange = _error(
    "ConcurrentChange", "Someone changed the item meanwhile; reload and retry."
)
InvalidIdempotencyKey = _error(
    "InvalidIdempotencyKey", "The idempotency key is empty, too short or too long."
)
IdempotencyKeyReused = _error(
    "IdempotencyKeyReused", "The idempotency key was already used for a different request."
)
InvalidFile = _error("InvalidFile", "The file cannot be read as a ledger sheet.")
InvalidDocument = _error(
    "InvalidDocument", "The GraphQL document does not parse or validate against the schema."
)

_BY_CODE: dict[ErrorCode, type[UserError]] = {
    ErrorCode.UNKNOWN_HOUSEHOLD: UnknownHousehold,
    ErrorCode.UNKNOWN_CADRE: UnknownCadre,
    ErrorCode.UNKNOWN_AREA: UnknownArea,
    ErrorCode.UNKNOWN_DEPARTMENT: UnknownDepartment,
    ErrorCode.UNKNOWN_MEETING: UnknownMeeting,
    ErrorCode.UNKNOWN_SOURCE: UnknownSource,
    ErrorCode.UNKNOWN_LEDGER_ITEM: UnknownLedgerItem,
    ErrorCode.UNKNOWN_LEDGER: UnknownLedger,
    ErrorCode.UNKNOWN_CATEGORY: UnknownCategory,
    ErrorCode.WRONG_AREA_LEVEL: WrongAreaLevel,
    ErrorCode.NOT_IN_AREA: NotInArea,
    ErrorCode.DATE_IN_FUTURE: DateInFuture,
    ErrorCode.DATE_TOO_EARLY: DateTooEarly,
    ErrorCode.TEXT_TOO_LONG: TextTooLong,
    ErrorCode.REQUIRED: Required,
    ErrorCode.OUT_OF_RANGE: OutOfRange,
    ErrorCode.NOT_ALLOWED_HERE: NotAllowedHere,
    ErrorCode.ILLEGAL_TRANSITION: IllegalTransition,
    ErrorCode.CONCURRENT_CHANGE: ConcurrentChange,
    ErrorCode.INVALID_IDEMPOTENCY_KEY: InvalidIdempotencyKey,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: IdempotencyKeyReused,
    ErrorCode.INVALID_FILE: InvalidFile,
    ErrorCode.INVALID_DOCUMENT: InvalidDocument,
}
assert set(_BY_CODE) == set(ErrorCode), "every error code needs its GraphQL type"


# The codes of typed errors answered while a request runs (for its log line and
# metrics), whether or not the client selects them; set per request by the endpoint.
answered_codes: ContextVar[list[str] | None] = ContextVar("answered_codes", default=None)


def from_input_error(error: errors.InputError) -> UserError:
    if (codes := answered_codes.get()) is not None:
        codes.append(error.code.name)
    return _BY_CODE[error.code](code=error.code, field=error.field, message=error.message)


def from_input_errors(found: tuple[errors.InputError, ...]) -> list[UserError]:
    return [from_input_error(error) for error in found]


def _union(name: str, *members: type[UserError]) -> object:
    return Annotated[Union[members], strawberry.union(name)]  # noqa: UP007 - built from a tuple


_KEY_ERRORS = (InvalidIdempotencyKey, IdempotencyKeyReused)

if TYPE_CHECKING:
    # mypy cannot read unions built at run time; to it, each is its interface.
    RecordVisitError = UserError
    RecordMeetingError = UserError
    AddSuggestionError = UserError
    RecordLedgerItemError = UserError
    LedgerItemActionError = UserError
    ImportLedgerError = UserError
    SaveQueryError = UserError
else:
    RecordVisitError = _union(
        "RecordVisitError",
        UnknownHousehold,
        UnknownCadre,
        DateInFuture,
        TextTooLong,
        Required,
        OutOfRange,
        NotAllowedHere,
        *_KEY_ERRORS,
    )
    RecordMeetingError = _union(
        "RecordMeetingError",
        UnknownArea,
        WrongAreaLevel,
        UnknownCadre,
        DateInFuture,
        TextTooLong,
        Required,
        OutOfRange,
        *_KEY_ERRORS,
    )
    AddSuggestionError = _union(
        "AddSuggestionError",
        UnknownMeeting,
        UnknownHousehold,
        NotInArea,
        TextTooLong,
        Required,
        *_KEY_ERRORS,
    )
    RecordLedgerItemError = _union(
        "RecordLedgerItemError",
        UnknownLedger,
        UnknownCategory,
        UnknownArea,
        WrongAreaLevel,
        UnknownDepartment,
        UnknownHousehold,
        NotInArea,
        UnknownCadre,
        UnknownSource,
        DateInFuture,
        TextTooLong,
        Required,
        NotAllowedHere,
        *_KEY_ERRORS,
    )
    LedgerItemActionError = _union(
        "LedgerItemActionError",
        UnknownLedgerItem,
        UnknownCadre,
        UnknownArea,
        UnknownDepartment,
        IllegalTransition,
        ConcurrentChange,
        DateInFuture,
        DateTooEarly,
        TextTooLong,
        Required,
        NotAllowedHere,
        *_KEY_ERRORS,
    )
    ImportLedgerError = _union(
        "ImportLedgerError",
        InvalidFile,
        UnknownArea,
        WrongAreaLevel,
        UnknownLedger,
        *_KEY_ERRORS,
    )
    SaveQueryError = _union(
        "SaveQueryError", InvalidDocument, NotAllowedHere, Required, TextTooLong, ConcurrentChange
    )
