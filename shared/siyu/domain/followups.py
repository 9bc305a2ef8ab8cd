"""Follow-up tasks for staff; the foundation raises them for lost customers and failed transfers."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from siyu.domain.biz_events import Aware
from siyu.domain.errors import Conflict, InvalidInput
from siyu.domain.model import Model


class FollowupReason(StrEnum):
    LOST_CUSTOMER = "lost_customer"  # the customer deleted a staff member
    TRANSFER_FAILED = "transfer_failed"
    REVISIT = "revisit"  # the cadence after a new relation (+3 d, +7–10 d)
    JOURNEY_ABANDONED = "journey_abandoned"  # an application stopped half-way
    LEFT_GROUP = "left_group"  # left a group while still a contact


REASON_LABELS = {
    FollowupReason.LOST_CUSTOMER: "流失挽回",
    FollowupReason.TRANSFER_FAILED: "转接失败",
    FollowupReason.REVISIT: "回访",
    FollowupReason.JOURNEY_ABANDONED: "业务办理中断",
    FollowupReason.LEFT_GROUP: "退群挽回",
}


class FollowupStatus(StrEnum):
    OPEN = "open"
    SENT = "sent"  # the staff member was reminded in WeCom
    DONE = "done"  # staff or ops closed it
    CANCELLED = "cancelled"  # its cause went away (journey completed, relation ended)


CLOSED = (FollowupStatus.DONE, FollowupStatus.CANCELLED)


class Followup(Model):
    id: str  # deterministic from its cause, so a duplicate event creates nothing
    external_userid: str
    staff_userid: str
    reason: FollowupReason
    detail: str = ""
    due_at: datetime
    window_end: datetime | None = None  # e.g. the second revisit: +7 to +10 days
    status: FollowupStatus = FollowupStatus.OPEN
    sent_at: datetime | None = None
    # journey_abandoned: which customer and journey, so that its completion cancels it.
    bank_customer_id: str = ""
    journey: str = ""
    closed_at: datetime | None = None
    note: str = ""  # why it was closed or snoozed


class Snooze(Model):
    """POST /ops/followups/{id}:snooze: due again at `until`."""

    model_config = ConfigDict(extra="forbid")

    until: Aware
    note: str = Field("", max_length=200)


class Done(Model):
    """POST /ops/followups/{id}:done."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=200)


MAX_SNOOZE = timedelta(days=90)


def snoozed(task: Followup, snooze: Snooze, now: datetime) -> Followup:
    """Due again at `until` (open, so the tick reminds again); refused once closed."""
    if task.status in CLOSED:
        raise Conflict(f"follow-up {task.id} is {task.status.value}")
    if snooze.until <= now:
        raise InvalidInput("until", "not in the future")
    if snooze.until - now > MAX_SNOOZE:
        raise InvalidInput("until", f"at most {MAX_SNOOZE.days} days ahead")
    return task.model_copy(
        update={
            "status": FollowupStatus.OPEN,
            "due_at": snooze.until,
            "window_end": None,
            "note": snooze.note,
        }
    )


def closed(task: Followup, status: FollowupStatus, now: datetime, note: str = "") -> Followup:
    """Done or cancelled; closing again keeps the first close."""
    if task.status in CLOSED:
        return task
    return task.model_copy(update={"status": status, "closed_at": now, "note": note})


class Cadence(Model):
    """One revisit after a new relation: due after `from_days`, at the latest `to_days`."""

    from_days: int = Field(ge=0)
    to_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _window(self) -> Cadence:
        if self.to_days < self.from_days:
            raise ValueError("to_days must not be before from_days")
        return self


DEFAULT_CADENCE = [Cadence(from_days=3, to_days=3), Cadence(from_days=7, to_days=10)]


def followup_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def revisits(
    external_userid: str, staff_userid: str, added_at: datetime, cadence: list[Cadence], cause: str
) -> list[Followup]:
    return [
        Followup(
            id=followup_id("revisit", cause, str(step.from_days)),
            external_userid=external_userid,
            staff_userid=staff_userid,
            reason=FollowupReason.REVISIT,
            detail=f"添加后第{step.from_days}天回访"
            + (f"（{step.to_days}天内完成）" if step.to_days > step.from_days else ""),
            due_at=added_at + timedelta(days=step.from_days),
            window_end=added_at + timedelta(days=step.to_days),
        )
        for step in cadence
    ]


def reminder_text(tasks: list[Followup], names: dict[str, str], limit_bytes: int = 2000) -> str:
    """One WeCom app message per staff member; WeCom's text limit is 2,048 bytes."""
    lines = [f"您有{len(tasks)}个待跟进客户："]
    for n, task in enumerate(tasks, 1):
        who = names.get(task.external_userid) or task.external_userid
        line = f"{n}. [{REASON_LABELS[task.reason]}] {who} {task.detail}".rstrip()
        if len("\n".join([*lines, line]).encode()) > limit_bytes - 40:
            lines.append(f"…另有{len(tasks) - n + 1}个，请在工作台查看")
            break
        lines.append(line)
    return "\n".join(lines)


def reach_back_staff(lost_staff: str, active_staff: list[str]) -> str:
    """Re-reach through another active relation if any, else ask the lost staff member."""
    return active_staff[0] if active_staff else lost_staff


class FollowupQuery(Model):
    """GET /ops/followups: a staff member's tasks by status."""

    staff: str = Field(min_length=1, max_length=64)
    status: FollowupStatus = FollowupStatus.OPEN
    limit: int = Field(100, ge=1, le=500)
