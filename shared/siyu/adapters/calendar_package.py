"""The years the `chinese-calendar` package knows, as OfficialYear data."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import chinese_calendar

from siyu.domain.calendar import HOLIDAY_LABELS, HolidayPeriod, OfficialYear


def package_years() -> list[OfficialYear]:
    """Consecutive days off of one holiday form a period; a period belongs to the year it
    ends in (New Year's Day may start on 31 December)."""
    periods: list[HolidayPeriod] = []
    for day, holiday in sorted(chinese_calendar.holidays.items()):
        name = _name(holiday)
        if not name:
            continue
        last = periods[-1] if periods else None
        if last and last.name == name and day - last.last_day == timedelta(days=1):
            periods[-1] = last.model_copy(update={"last_day": day})
        else:
            periods.append(
                HolidayPeriod.model_validate({"name": name, "first_day": day, "last_day": day})
            )
    by_year: dict[int, list[HolidayPeriod]] = defaultdict(list)
    for period in periods:
        by_year[period.last_day.year].append(period)
    working: dict[int, list[date]] = defaultdict(list)
    for day, holiday in chinese_calendar.workdays.items():
        if day.weekday() >= 5 and _name(holiday):
            working[day.year].append(day)
    return [
        OfficialYear(
            year=year,
            holidays=year_periods,
            working_days=sorted(working[year]),
            source=f"chinese-calendar {chinese_calendar.__version__}",
        )
        for year, year_periods in sorted(by_year.items())
    ]


def _name(holiday: object) -> str:
    """The package stores Holiday enum values; the seven recurring holidays keep their
    names, one-off days off (e.g. 2015's anniversary) count only as days off."""
    for member in chinese_calendar.Holiday:
        if holiday in (member, member.value):
            return member.name if member.name in HOLIDAY_LABELS else ""
    return ""
