"""Campaign schedules in Asia/Shanghai: month ends, leap years, 2026's Spring Festival and
its 调休 working days, meal windows, birthdays, and years the official calendar lacks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from siyu.adapters.calendar_package import package_years
from siyu.domain.calendar import CalendarGap, HolidayPeriod, OfficialCalendar, OfficialYear
from siyu.domain.campaigns import SHANGHAI, Schedule, birthdays_on, occurrences

CAL = OfficialCalendar(package_years())
SCHEDULE: TypeAdapter[Any] = TypeAdapter(Schedule)


def due(schedule: dict[str, Any], first: str, last: str, cal: OfficialCalendar = CAL) -> list[str]:
    """Occurrence times (Shanghai wall clock) from the start of `first` to the end of `last`."""
    start = datetime.fromisoformat(first).replace(tzinfo=SHANGHAI) - timedelta(microseconds=1)
    end = datetime.fromisoformat(last).replace(tzinfo=SHANGHAI) + timedelta(days=1, microseconds=-1)
    found = occurrences(SCHEDULE.validate_python(schedule), start, end, cal)
    return [f"{o.at:%Y-%m-%d %H:%M}" for o in found]


def test_daily_runs_every_day_at_its_time_across_a_month_end() -> None:
    assert due({"kind": "daily", "at": "09:30"}, "2026-01-30", "2026-02-01") == [
        "2026-01-30 09:30",
        "2026-01-31 09:30",
        "2026-02-01 09:30",
    ]


def test_the_window_is_exclusive_at_its_start_and_inclusive_at_its_end() -> None:
    at = datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
    daily = SCHEDULE.validate_python({"kind": "daily", "at": "09:30"})
    assert [o.key for o in occurrences(daily, at - timedelta(minutes=5), at, CAL)] == ["2026-11-25"]
    assert occurrences(daily, at, at + timedelta(minutes=5), CAL) == []


def test_times_are_shanghai_wall_clock_whatever_the_window_zone() -> None:
    daily = SCHEDULE.validate_python({"kind": "daily", "at": "00:15"})
    start = datetime.fromisoformat("2026-11-24T16:00:00+00:00")  # 00:00 in Shanghai
    [occurrence] = occurrences(daily, start, start + timedelta(hours=1), CAL)
    assert occurrence.at.isoformat() == "2026-11-25T00:15:00+08:00"


def test_weekly_wednesday_offers() -> None:
    assert due({"kind": "weekly", "weekdays": [3], "at": "10:00"}, "2026-11-23", "2026-12-06") == [
        "2026-11-25 10:00",
        "2026-12-02 10:00",
    ]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2026-01-01", "2026-03-31", ["2026-01-31", "2026-02-28", "2026-03-31"]),
        ("2028-02-01", "2028-02-29", ["2028-02-29"]),  # leap year
        ("2026-04-01", "2026-04-30", ["2026-04-30"]),
    ],
)
def test_monthly_last_day(first: str, last: str, expected: list[str]) -> None:
    found = due({"kind": "monthly", "days": ["last"], "at": "08:00"}, first, last)
    assert [f[:10] for f in found] == expected


def test_monthly_day_31_skips_short_months_and_day_29_runs_in_leap_februaries() -> None:
    day_31 = due({"kind": "monthly", "days": [31], "at": "08:00"}, "2026-01-01", "2026-05-31")
    assert [f[:10] for f in day_31] == ["2026-01-31", "2026-03-31", "2026-05-31"]
    day_29 = {"kind": "monthly", "days": [29], "at": "08:00"}
    assert [f[:10] for f in due(day_29, "2026-02-01", "2026-03-01")] == []
    assert [f[:10] for f in due(day_29, "2028-02-01", "2028-03-01")] == ["2028-02-29"]


def test_spring_festival_2026_first_day_and_eve() -> None:
    first = {"kind": "holiday", "holidays": ["spring_festival"], "on": "first_day", "at": "09:00"}
    eve = {**first, "on": "eve"}
    assert due(first, "2026-01-01", "2026-12-31") == ["2026-02-15 09:00"]  # no New Year: no 2027
    assert due(eve, "2026-01-01", "2026-12-31") == ["2026-02-14 09:00"]
    every = due({**first, "on": "every_day"}, "2026-02-01", "2026-02-28")
    assert [f[:10] for f in every] == [f"2026-02-{d}" for d in range(15, 24)]


def test_every_holiday_of_2026_and_the_eve_of_new_year_in_the_year_before() -> None:
    firsts = due({"kind": "holiday", "at": "09:00"}, "2026-01-01", "2026-12-27")  # see below
    assert [f[5:10] for f in firsts] == [
        "01-01",
        "02-15",
        "04-04",
        "05-01",
        "06-19",
        "09-25",
        "10-01",
    ]
    eve = {"kind": "holiday", "holidays": ["new_years_day"], "on": "eve", "at": "20:00"}
    assert due(eve, "2025-12-30", "2025-12-31") == ["2025-12-31 20:00"]
    # 2023's New Year's holiday began on Saturday 31 December 2022.
    first = {"kind": "holiday", "holidays": ["new_years_day"], "at": "09:00"}
    assert due(first, "2022-12-29", "2023-01-03") == ["2022-12-31 09:00"]
    with pytest.raises(CalendarGap, match="2027"):  # 2026's last days need 2027's schedule
        due(first, "2026-12-30", "2026-12-31")


def test_workdays_follow_the_official_schedule_with_its_tiaoxiu_days() -> None:
    lunch = {"kind": "meal", "meals": ["lunch"], "workdays_only": True}
    days = [f[:10] for f in due(lunch, "2026-02-09", "2026-03-01")]
    # Sat 14 Feb and Sat 28 Feb are worked in lieu; 15–23 Feb are the Spring Festival.
    assert days == [
        "2026-02-09",
        "2026-02-10",
        "2026-02-11",
        "2026-02-12",
        "2026-02-13",
        "2026-02-14",
        "2026-02-24",
        "2026-02-25",
        "2026-02-26",
        "2026-02-27",
        "2026-02-28",
    ]
    assert CAL.is_workday(date(2026, 10, 10)) and not CAL.is_workday(date(2026, 10, 5))


def test_meal_windows_each_have_their_own_occurrence() -> None:
    meals = {"kind": "meal", "meals": ["breakfast", "lunch", "dinner"]}
    start = datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI)
    found = occurrences(SCHEDULE.validate_python(meals), start, start + timedelta(days=1), CAL)
    assert [(o.key, f"{o.at:%H:%M}", o.meal) for o in found] == [
        ("2026-11-24-breakfast", "07:30", "早餐"),
        ("2026-11-24-lunch", "11:30", "午餐"),
        ("2026-11-24-dinner", "17:30", "晚餐"),
    ]


def test_birthdays_of_29_february_are_kept_on_the_28th_of_common_years() -> None:
    assert birthdays_on(date(2027, 2, 28)) == ["02-28", "02-29"]
    assert birthdays_on(date(2028, 2, 28)) == ["02-28"]
    assert birthdays_on(date(2028, 2, 29)) == ["02-29"]
    assert birthdays_on(date(2026, 11, 23)) == ["11-23"]


def test_a_year_without_an_official_schedule_is_an_error_not_a_guess() -> None:
    assert CAL.knows(2026) and not CAL.knows(2027)
    with pytest.raises(CalendarGap, match="2027"):
        due({"kind": "holiday", "at": "09:00"}, "2027-01-01", "2027-02-28")
    with pytest.raises(CalendarGap):
        due({"kind": "daily", "at": "09:00", "workdays_only": True}, "2027-01-04", "2027-01-04")
    # Schedules that need no official calendar run in any year.
    assert len(due({"kind": "daily", "at": "09:00"}, "2027-01-01", "2027-01-03")) == 3


def test_a_year_loaded_by_ops_fills_the_gap() -> None:
    year = OfficialYear(
        year=2027,
        holidays=[
            HolidayPeriod(
                name="spring_festival", first_day=date(2027, 2, 5), last_day=date(2027, 2, 13)
            )
        ],
        working_days=[date(2027, 2, 20)],
    )
    cal = OfficialCalendar([*package_years(), year])
    first = {"kind": "holiday", "holidays": ["spring_festival"], "at": "09:00"}
    assert due(first, "2027-01-01", "2027-12-31", cal) == ["2027-02-05 09:00"]
    assert cal.is_workday(date(2027, 2, 20))


def test_bad_schedules_are_refused() -> None:
    for bad in (
        {"kind": "daily", "at": "24:00"},
        {"kind": "weekly", "weekdays": [0], "at": "10:00"},
        {"kind": "monthly", "days": [32], "at": "10:00"},
        {"kind": "holiday", "holidays": ["christmas"], "at": "10:00"},
        {"kind": "meal", "meals": ["supper"]},
        {"kind": "hourly", "at": "10:00"},
    ):
        with pytest.raises(ValidationError):
            SCHEDULE.validate_python(bad)
    spring = HolidayPeriod(
        name="spring_festival", first_day=date(2027, 2, 5), last_day=date(2027, 2, 13)
    )
    with pytest.raises(ValidationError, match="weekday already"):
        OfficialYear(year=2027, holidays=[spring], working_days=[date(2027, 2, 22)])
