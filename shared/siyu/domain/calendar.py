"""China's official calendar as data: statutory holidays and the 调休 working days.

The State Council publishes each year's schedule late in the previous year, so no rule can
compute it. A year is known from the maintained package or from a file ops load
(`siyu calendar load`); asking about any other year raises CalendarGap, never a guess.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from siyu.domain.errors import DomainError
from siyu.domain.model import Model

HolidayName = Literal[
    "new_years_day",
    "spring_festival",
    "tomb_sweeping_day",
    "labour_day",
    "dragon_boat_festival",
    "mid_autumn_festival",
    "national_day",
]
HOLIDAY_LABELS: dict[str, str] = {
    "new_years_day": "元旦",
    "spring_festival": "春节",
    "tomb_sweeping_day": "清明节",
    "labour_day": "劳动节",
    "dragon_boat_festival": "端午节",
    "mid_autumn_festival": "中秋节",
    "national_day": "国庆节",
}


class CalendarGap(DomainError):
    """No official schedule is known for this year."""

    def __init__(self, year: int) -> None:
        super().__init__(
            f"no official holiday schedule for {year}: load it with `siyu calendar load`"
        )
        self.year = year


class HolidayPeriod(Model):
    model_config = ConfigDict(extra="forbid")

    name: HolidayName
    first_day: date
    last_day: date

    @model_validator(mode="after")
    def _ordered(self) -> HolidayPeriod:
        if self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self

    @property
    def eve(self) -> date:
        return self.first_day - timedelta(days=1)


class OfficialYear(Model):
    """One year's schedule: days off by holiday, and weekend days that are working days."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    holidays: list[HolidayPeriod] = Field(min_length=1, max_length=20)
    working_days: list[date] = Field(default_factory=list, max_length=20)
    source: str = Field("ops", max_length=100)

    @model_validator(mode="after")
    def _in_year(self) -> OfficialYear:
        for period in self.holidays:
            if self.year not in (period.first_day.year, period.last_day.year):
                raise ValueError(f"{period.name} {period.first_day} is not in {self.year}")
        for day in self.working_days:
            if day.year != self.year:
                raise ValueError(f"working day {day} is not in {self.year}")
            if day.weekday() < 5:
                raise ValueError(f"working day {day} is a weekday already")
        return self


class OfficialCalendar:
    def __init__(self, years: list[OfficialYear]) -> None:
        self._years = {y.year: y for y in years}
        self._off = {
            day: period
            for y in years
            for period in y.holidays
            for day in _days(period.first_day, period.last_day)
        }
        self._working = {day for y in years for day in y.working_days}

    def knows(self, year: int) -> bool:
        return year in self._years

    def _require(self, year: int) -> OfficialYear:
        if year not in self._years:
            raise CalendarGap(year)
        return self._years[year]

    def holidays(self, year: int) -> list[HolidayPeriod]:
        return list(self._require(year).holidays)

    def is_workday(self, day: date) -> bool:
        """Weekdays that are not days off, plus the weekend days worked in lieu (调休)."""
        self._require(day.year)
        if day in self._working:
            return True
        return day.weekday() < 5 and day not in self._off

    def holiday_on(self, day: date) -> HolidayPeriod | None:
        self._require(day.year)
        return self._off.get(day)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
