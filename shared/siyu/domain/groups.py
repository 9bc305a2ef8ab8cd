"""Customer groups (客户群): the benefit-group registry and how chat events change a group."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field

from siyu.domain.access import BranchRef
from siyu.domain.content import Attachment
from siyu.domain.geo import CoordSystem, geohash, to_wgs84
from siyu.domain.model import Model

GROUP_HARD_LIMIT = 500  # WeCom: a customer group holds at most 500 members


class GroupStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"


class Location(Model):
    """Always WGS-84; the caller's original coordinates are kept for audit."""

    lat: float
    lng: float
    geohash: str
    source_lat: float
    source_lng: float
    source_system: CoordSystem


class Coordinates(Model):
    """A point as a caller sends it: latitude, longitude and which of China's systems."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    # Required: guessing the system misplaces a point by up to ~500 m (GCJ-02) or more (BD-09).
    coord_system: CoordSystem

    def location(self) -> Location:
        lat, lng = to_wgs84(self.lat, self.lng, self.coord_system)
        return Location(
            lat=lat,
            lng=lng,
            geohash=geohash(lat, lng, 9),
            source_lat=self.lat,
            source_lng=self.lng,
            source_system=self.coord_system,
        )


class GroupWelcomeSpec(Model):
    """A group welcome template (92366): the greeting and at most one attachment; siyu adds
    the list of the group's benefits."""

    model_config = ConfigDict(extra="forbid")

    intro: str = Field(min_length=1, max_length=600, description="%NICKNAME% is the customer")
    attachment: Attachment | None = None


class GroupSpec(Coordinates):
    """PUT /ops/groups/{chat_id}: registers a benefit group for card-alert invites."""

    # Not blank: WeCom takes the name as the join way's remark and refuses an empty one.
    name: str = Field(min_length=1, max_length=60, pattern=r"\S")
    owner_userid: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=32)
    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
    member_count: int | None = Field(None, ge=0, le=GROUP_HARD_LIMIT)
    tags: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=20, description="e.g. 美食, 早餐: campaign audiences"
    )
    welcome: GroupWelcomeSpec | None = Field(None, description="a group welcome template")
    branch: BranchRef = ""


class Group(Model):
    chat_id: str
    name: str = ""
    owner_userid: str = ""
    member_count: int = Field(0, ge=0)
    member_version: str = ""  # WeCom's member_version / CurMemVer after the last change seen
    status: GroupStatus = GroupStatus.OPEN
    updated_at: datetime
    # Registry fields: set for benefit groups registered through the ops API.
    city: str = ""
    kind: str = ""
    location: Location | None = None
    join_config_id: str = ""
    join_url: str = ""
    tags: list[str] = Field(default_factory=list)
    welcome: GroupWelcomeSpec | None = None
    welcome_template_id: str = ""  # the template in WeCom's library (92366)
    welcome_shown: str = ""  # fingerprint of what that template says now
    owner_transfers: list[datetime] = Field(default_factory=list)  # in-service hand-overs
    branch: BranchRef = ""

    @property
    def is_benefit_group(self) -> bool:
        return self.location is not None and bool(self.join_url)

    def has_room(self, join_limit: int) -> bool:
        """Open, registered, and below the QR join limit (WeCom stops QR joins at 200)."""
        return (
            self.is_benefit_group
            and self.status is GroupStatus.OPEN
            and self.member_count < join_limit
        )


def register(current: Group | None, chat_id: str, spec: GroupSpec, at: datetime) -> Group:
    """Apply a registry PUT; the member count follows chat events unless ops give one."""
    base = current or Group(chat_id=chat_id, updated_at=at)
    count = base.member_count if spec.member_count is None else spec.member_count
    return base.model_copy(
        update={
            "name": spec.name,
            "owner_userid": spec.owner_userid,
            "city": spec.city,
            "kind": spec.kind,
            "tags": spec.tags,
            "welcome": spec.welcome,
            "branch": spec.branch,
            "location": spec.location(),
            "member_count": count,
            "status": GroupStatus.OPEN,
            "updated_at": at,
        }
    )


def apply_member_change(
    group: Group, detail: str, count: int, at: datetime, version: str = ""
) -> Group:
    """Join/leave deltas from MemChangeCnt; never below zero if events arrive out of order."""
    delta = count if detail == "add_member" else -count
    update = {"member_count": max(0, group.member_count + delta), "updated_at": at}
    if version:
        update["member_version"] = version
    return group.model_copy(update=update)


def trusts_delta(stored: Group | None, last_version: str) -> bool:
    """92130: a join/leave delta holds only on top of the version it was made from. Older
    callbacks carry no version: then a known group's delta is all there is."""
    if stored is None:
        return False
    return not last_version or stored.member_version == last_version


class GroupQuery(Model):
    """GET /ops/groups: a page of groups by chat id, optionally of one city."""

    city: str = Field("", max_length=32)
    after: str = Field("", max_length=128, description="the last chat id of the previous page")
    limit: int = Field(500, ge=1, le=1000)
