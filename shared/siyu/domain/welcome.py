"""Rules for the WelcomeCode race between the callback's fast path and the worker."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class WelcomeStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    HANDED_OFF = "handed_off"  # the callback gave up within its budget; the worker may take it
    EXPIRED = "expired"  # the 20-s window closed before anyone succeeded


class WelcomeClaim(BaseModel):
    granted: bool
    status: WelcomeStatus | None = None
    owner: str = ""


def window_open(create_time: int, now_epoch: float, window_s: int) -> bool:
    return now_epoch < create_time + window_s
