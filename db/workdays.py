"""Working days on China's official calendar (public holidays and 调休 included).

The calendar comes from the ``chinesecalendar`` package, which covers the years
the State Council has announced. For a year it does not cover yet, Monday to
Friday count as working days and the result is marked provisional, so it can
be recomputed when a package release adds the year.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import chinese_calendar


@dataclasses.dataclass(frozen=True)
class Deadline:
    due: dt.date
    provisional: bool


@functools.lru_cache(maxsize=8192)
def is_workday(day: dt.date) -> tuple[bool, bool]:
    """(is it a working day, is that answer provisional).

    Cached: the package scans its whole holiday table on every call.
    """
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:
        return day.weekday() < 5, True


def add_working_days(start: dt.date, days: int) -> Deadline:
    """The ``days``-th working day after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day, counted, provisional = start, 0, False
    while counted < days:
        day += dt.timedelta(days=1)
        working, guessed = is_workday(day)
        provisional |= guessed
        counted += working
    return Deadline(due=day, provisional=provisional)
