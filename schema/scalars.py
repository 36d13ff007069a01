"""Date and DateTime read strictly: ISO 8601's extended form only.

Python's ``date.fromisoformat`` (3.11 on) also takes the basic form
(``20140101``), week dates (``2014-W01-3``) and ordinal dates; strawberry's
DateTime (``dateutil.isoparse``) takes those and more. The service takes
``YYYY-MM-DD`` for a date and ``YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]`` for a
date with time — as it writes them. The scalars keep strawberry's names and
descriptions, so the SDL is unchanged; they override the built-in ones through
the schema's ``scalar_overrides``.
"""

from __future__ import annotations

import datetime as dt
import re

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?",
    re.ASCII,
)


def iso_date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` date; ValueError for anything else (or a day that does not exist)."""
    if not DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")
    return dt.date.fromisoformat(text)


def iso_datetime(text: str) -> dt.datetime:
    """A ``YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM]`` date with time; ValueError otherwise."""
    if not DATETIME.fullmatch(text):
        raise ValueError(f"{text!r} is not a date with time (YYYY-MM-DDTHH:MM:SS)")
    return dt.datetime.fromisoformat(text)


def _parser(parse: object, name: str) -> object:
    def parse_value(value: object) -> object:
        if not isinstance(value, str):
            raise StrawberryInputCoercionError(
                f'Value cannot represent a {name}: "{value}". Expected a string.'
            )
        try:
            return parse(value)  # type: ignore[operator]
        except ValueError:
            raise StrawberryInputCoercionError(
                f'Value cannot represent a {name}: "{value}". Expected '
                + ("YYYY-MM-DD." if name == "Date" else "YYYY-MM-DDTHH:MM:SS[.ffffff][Z|±HH:MM].")
            ) from None

    return parse_value


def _strict(definition: ScalarDefinition, parse: object) -> ScalarDefinition:
    return ScalarDefinition(
        name=definition.name,
        description=definition.description,
        specified_by_url=definition.specified_by_url,
        serialize=definition.serialize,
        parse_value=_parser(parse, definition.name),  # type: ignore[arg-type]
        parse_literal=None,
        origin=definition.origin,
    )


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    dt.date: _strict(DateDefinition, iso_date),
    dt.datetime: _strict(DateTimeDefinition, iso_datetime),
}
