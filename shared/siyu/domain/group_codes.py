"""Group QR codes that move on (群活码): one WeCom join way for a city or area, holding up to
five benefit groups with room; a group that fills up is swapped for the next one with room.

WeCom's own overflow (`auto_create_room`) would open new, unregistered groups with no
location and no benefits; siyu keeps the way on groups it knows instead (92229).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import ConfigDict, Field

from siyu.domain.groups import Group
from siyu.domain.model import Model
from siyu.domain.ops_tasks import OpsTask, OpsTaskKind

MAX_CHATS = 5  # chat_id_list of one join way (92229; 41091 beyond)
CODE_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class GroupCodeSpec(Model):
    """PUT /ops/group-codes/{id}: which benefit groups the code may lead to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=30, description="the join way's remark")
    city: str = Field(min_length=1, max_length=32)
    kinds: list[str] = Field(default_factory=list, max_length=10, description="empty: any")
    area_geohash: str = Field(
        "", max_length=9, pattern=r"^[0-9b-hjkmnp-z]*$", description="a geohash prefix; empty: city"
    )


class GroupCode(GroupCodeSpec):
    id: str = Field(pattern=CODE_ID)
    config_id: str = ""
    qr_code: str = ""
    chat_ids: list[str] = Field(default_factory=list, max_length=MAX_CHATS)
    exhausted: bool = False  # no group in the area has room: the way still shows the last ones
    updated_at: datetime

    def admits(self, group: Group, join_limit: int) -> bool:
        """A group this code may lead to now: registered here, open, with room."""
        return (
            group.has_room(join_limit)
            and group.city == self.city
            and (not self.kinds or group.kind in self.kinds)
            and group.location is not None
            and group.location.geohash.startswith(self.area_geohash)
        )


def join_state(code_id: str) -> str:
    """The way's `state` (≤ 30 characters): which code a member joined by (92229)."""
    return "q-" + hashlib.sha256(code_id.encode()).hexdigest()[:20]


def choose(code: GroupCode, candidates: list[Group], join_limit: int) -> list[str]:
    """The chats the way should hold: those it holds that still have room, in their place,
    then the emptiest other candidates, up to five."""
    fit = {g.chat_id: g for g in candidates if code.admits(g, join_limit)}
    kept = [c for c in code.chat_ids if c in fit]
    others = sorted(
        (g for g in fit.values() if g.chat_id not in kept),
        key=lambda g: (g.member_count, g.chat_id),
    )
    return (kept + [g.chat_id for g in others])[:MAX_CHATS]


def code_exhausted(code: GroupCode, at: datetime) -> OpsTask:
    """Raised once per code and day: every group it may lead to is full or gone."""
    return OpsTask(
        id=f"{OpsTaskKind.GROUP_CODE_EXHAUSTED}-{code.id}-{at.date().isoformat()}",
        kind=OpsTaskKind.GROUP_CODE_EXHAUSTED,
        detail=f"group QR code {code.id} ({code.city}) has no benefit group with room left: "
        "register a new group for it",
        city=code.city,
        area_geohash=code.area_geohash,
        created_at=at,
    )
