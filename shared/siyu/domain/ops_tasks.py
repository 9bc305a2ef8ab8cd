"""Tasks siyu raises for the operations team (e.g. an area that needs a new benefit group)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from siyu.domain.geo import geohash
from siyu.domain.model import Model

AREA_PRECISION = 5  # a geohash cell of about 4.9 km × 4.9 km


class OpsTaskKind(StrEnum):
    NEW_GROUP_NEEDED = "new_group_needed"
    CALENDAR_MISSING = "calendar_missing"
    STAFF_UNREACHABLE = "staff_unreachable"
    GROUP_CODE_EXHAUSTED = "group_code_exhausted"


class OpsTask(Model):
    id: str  # deterministic, so the same need is raised once
    kind: OpsTaskKind
    detail: str
    city: str = ""
    area_geohash: str = ""
    lat: float | None = None
    lng: float | None = None
    status: str = "open"
    created_at: datetime


def new_group_needed(city: str, lat: float, lng: float, at: datetime) -> OpsTask:
    """One task per city and ~5 km geohash cell: the alerts there found no group with room."""
    area = geohash(lat, lng, AREA_PRECISION)
    city_key = hashlib.sha256(city.encode()).hexdigest()[:8]  # any city name, safe as an id
    return OpsTask(
        id=f"{OpsTaskKind.NEW_GROUP_NEEDED}-{area}-{city_key}",
        kind=OpsTaskKind.NEW_GROUP_NEEDED,
        detail=f"card alerts in {city} near geohash {area} found no benefit group with room",
        city=city,
        area_geohash=area,
        lat=lat,
        lng=lng,
        created_at=at,
    )


def calendar_missing(year: int, campaign_id: str, at: datetime) -> OpsTask:
    """A campaign needs a year's official holiday schedule that nobody has loaded yet."""
    return OpsTask(
        id=f"{OpsTaskKind.CALENDAR_MISSING}-{year}",
        kind=OpsTaskKind.CALENDAR_MISSING,
        detail=f"campaign {campaign_id} needs {year}'s official holiday schedule: "
        f"load it with `siyu calendar load FILE`",
        created_at=at,
    )


def staff_unreachable(staff_userid: str, why: str, at: datetime) -> OpsTask:
    """WeCom could not deliver the member's reminders (invaliduser / 81013, doc 90236): not
    in the app's visible range, unlicensed, or gone. One open task per member."""
    key = hashlib.sha256(staff_userid.encode()).hexdigest()[:16]
    return OpsTask(
        id=f"{OpsTaskKind.STAFF_UNREACHABLE}-{key}",
        kind=OpsTaskKind.STAFF_UNREACHABLE,
        detail=f"follow-up reminders to {staff_userid} were not delivered ({why}): check the "
        f"member is in the app's visible range and licensed, or reassign their customers",
        created_at=at,
    )
