"""Follow-up tasks for staff; the foundation raises them for lost customers and failed transfers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class FollowupReason(StrEnum):
    LOST_CUSTOMER = "lost_customer"  # the customer deleted a staff member
    TRANSFER_FAILED = "transfer_failed"


class Followup(BaseModel):
    id: str
    external_userid: str
    staff_userid: str
    reason: FollowupReason
    detail: str = ""
    due_at: datetime
    status: str = "open"


def reach_back_staff(lost_staff: str, active_staff: list[str]) -> str:
    """Re-reach through another active relation if any, else ask the lost staff member."""
    return active_staff[0] if active_staff else lost_staff
