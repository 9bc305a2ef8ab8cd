"""The demo's and e2e tests' calendar years and New Year's Eve, whatever year they run in."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from siyu.devstack.calendar_load import demo_year, new_years_eve
from siyu.domain.calendar import OfficialCalendar
from siyu.domain.campaigns import SHANGHAI


@pytest.mark.parametrize("year", range(2026, 2041))
def test_a_demo_year_is_a_valid_schedule_with_new_years_day_first(year: int) -> None:
    demo = demo_year(year, "test")
    calendar = OfficialCalendar([demo])
    assert calendar.holiday_on(date(year, 1, 1)).name == "new_years_day"  # type: ignore[union-attr]
    [saturday] = demo.working_days
    assert saturday.weekday() == 5 and calendar.is_workday(saturday)


@pytest.mark.parametrize(
    ("now", "eve"),
    [
        ("2026-12-04T09:00", "2026-12-31T20:01"),
        ("2026-12-31T19:00", "2026-12-31T20:01"),
        ("2026-12-31T19:30", "2027-12-31T20:01"),  # less than an hour ahead: next year's
        ("2027-01-01T00:10", "2027-12-31T20:01"),
    ],
)
def test_new_years_eve_is_at_least_an_hour_ahead(now: str, eve: str) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=SHANGHAI)
    found = new_years_eve(at)
    assert found == datetime.fromisoformat(eve).replace(tzinfo=SHANGHAI)
    assert found - at >= timedelta(hours=1)
