"""Rules for the WelcomeCode race between the callback's fast path and the worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from siyu.domain.model import Model


class WelcomeStatus(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    HANDED_OFF = "handed_off"  # the callback gave up within its budget; the worker may take it
    EXPIRED = "expired"  # the 20-s window closed before anyone succeeded


class WelcomeClaim(Model):
    granted: bool
    status: WelcomeStatus | None = None
    owner: str = ""


def window_open(create_time: int, now_epoch: float, window_s: int) -> bool:
    return now_epoch < create_time + window_s


def may_claim(
    current: dict | None, owner: str, now: datetime, stale_after_s: float
) -> WelcomeClaim:
    """Decide a claim on a WelcomeCode given its ledger record (None when never claimed).

    Free codes are taken; a handed-off code may be taken by either party (the worker retries
    its own after a 41096 or a failed call); a code stuck in
    SENDING longer than `stale_after_s` is taken over (its sender died). Otherwise the
    claim reports who holds it and how far they got.
    """
    if current is None:
        return WelcomeClaim(granted=True, status=WelcomeStatus.SENDING, owner=owner)
    status = WelcomeStatus(current["status"])
    handed_off = status is WelcomeStatus.HANDED_OFF
    stale = (
        status is WelcomeStatus.SENDING
        and (now - current["claimed_at"]).total_seconds() > stale_after_s
    )
    if handed_off or stale:
        return WelcomeClaim(granted=True, status=WelcomeStatus.SENDING, owner=owner)
    return WelcomeClaim(granted=False, status=status, owner=current["owner"])
