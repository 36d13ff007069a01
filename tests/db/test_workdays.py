"""Deadlines in working days across real holidays and moved working weekends."""

from __future__ import annotations

import datetime as dt

import pytest

from db.workdays import add_working_days, is_workday

D = dt.date


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Spring Festival 2014: 31 Jan–6 Feb off; Sun 26 Jan and Sat 8 Feb worked.
        (D(2014, 1, 23), 10, D(2014, 2, 11)),
        # National Day 2019: 1–7 Oct off; Sun 29 Sep and Sat 12 Oct worked.
        (D(2019, 9, 27), 3, D(2019, 10, 8)),
        (D(2019, 9, 26), 8, D(2019, 10, 12)),
        (D(2019, 9, 26), 10, D(2019, 10, 15)),
        # Labour Day 2023: 29 Apr–3 May off; Sun 23 Apr and Sat 6 May worked.
        (D(2023, 4, 21), 1, D(2023, 4, 23)),
        (D(2023, 4, 27), 2, D(2023, 5, 4)),
        (D(2023, 4, 28), 2, D(2023, 5, 5)),
        (D(2023, 5, 4), 2, D(2023, 5, 6)),
        # An ordinary fortnight: 10 working days is two calendar weeks.
        (D(2024, 3, 4), 10, D(2024, 3, 18)),
        (D(2024, 3, 4), 0, D(2024, 3, 4)),
    ],
)
def test_deadline_counts_official_working_days(received: D, days: int, due: D) -> None:
    deadline = add_working_days(received, days)
    assert deadline.due == due
    assert deadline.provisional is False


def test_moved_weekend_is_a_working_day_and_holiday_weekday_is_not() -> None:
    assert is_workday(D(2014, 1, 26)) == (True, False)  # a Sunday, worked
    assert is_workday(D(2014, 2, 3)) == (False, False)  # a Monday, Spring Festival


def test_years_the_calendar_does_not_cover_are_provisional_weekdays() -> None:
    deadline = add_working_days(D(2099, 12, 25), 10)  # Friday
    assert deadline.provisional is True
    assert deadline.due == D(2100, 1, 8)  # ten weekdays later


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(D(2014, 1, 1), -1)
