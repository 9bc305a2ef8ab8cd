"""`siyu calendar load FILE`: official years, validated here, saved through the ops API."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from siyu.adapters.calendar_package import package_years
from siyu.devstack.procs import StackError
from siyu.devstack.stack import StackConfig
from siyu.domain.calendar import HolidayPeriod, OfficialYear
from siyu.domain.campaigns import SHANGHAI


def load_years(cfg: StackConfig, path: str) -> list[str]:
    raw = json.loads(Path(path).read_text())
    years = [OfficialYear.model_validate(y) for y in (raw if isinstance(raw, list) else [raw])]
    done = []
    with cfg.ops_client() as ops:
        for year in years:
            r = ops.put(f"/ops/calendar/{year.year}", json=year.model_dump(mode="json"))
            if r.status_code != 200:
                raise StackError(f"{year.year} refused: {r.status_code} {r.text}")
            done.append(
                f"{year.year}: {len(year.holidays)} holidays, "
                f"{len(year.working_days)} working days in lieu ({year.source})"
            )
    return done


def demo_year(year: int, source: str) -> OfficialYear:
    """A made-up schedule for `year` (New Year's Day 1–3 January, a spring festival week
    from 10 February, the Saturday after it worked in lieu): demo and test data for years
    neither the package nor ops know, never the State Council's."""
    spring = date(year, 2, 10)
    saturday = spring + timedelta(days=7 + (5 - spring.weekday()) % 7)
    return OfficialYear(
        year=year,
        holidays=[
            HolidayPeriod(
                name="new_years_day", first_day=date(year, 1, 1), last_day=date(year, 1, 3)
            ),
            HolidayPeriod(
                name="spring_festival", first_day=spring, last_day=spring + timedelta(days=6)
            ),
        ],
        working_days=[saturday],
        source=source,
    )


def known_years(cfg: StackConfig) -> set[int]:
    """The years campaigns can plan in: the package's and those ops loaded."""
    with cfg.ops_client() as ops:
        loaded = {y["year"] for y in ops.get("/ops/calendar").raise_for_status().json()}
    return loaded | {y.year for y in package_years()}


def new_years_eve(after: datetime) -> datetime:
    """The first New Year's Eve at 20:01 (Shanghai) an hour or more after `after`: a
    scheduler tick's `as_of` before the clock is ignored."""
    eve = datetime(after.year, 12, 31, 20, 1, tzinfo=SHANGHAI)
    return eve if eve - after >= timedelta(hours=1) else eve.replace(year=after.year + 1)
