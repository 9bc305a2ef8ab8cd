"""Customer groups (客户群) and how chat events change them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class GroupStatus(StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"


class Group(BaseModel):
    chat_id: str
    name: str = ""
    owner_userid: str = ""
    member_count: int = Field(0, ge=0)
    status: GroupStatus = GroupStatus.OPEN
    updated_at: datetime


def apply_member_change(group: Group, detail: str, count: int, at: datetime) -> Group:
    """Join/leave deltas from MemChangeCnt; never below zero if events arrive out of order."""
    delta = count if detail == "add_member" else -count
    return group.model_copy(
        update={"member_count": max(0, group.member_count + delta), "updated_at": at}
    )
