"""Send a WelcomeCode's message exactly once, whether from the callback or the worker."""

from __future__ import annotations

import logging

from siyu.domain.channels import Channel
from siyu.domain.errors import DomainError
from siyu.domain.events import WeComEvent
from siyu.domain.wecom import WelcomeOutcome
from siyu.domain.welcome import WelcomeClaim, WelcomeStatus, window_open
from siyu.logging import log
from siyu.ports import ChannelRepo, Clock, WeComApi, WelcomeLedger
from siyu.services.media import MediaLibrary

logger = logging.getLogger(__name__)

# 41051 (delivered already, by a racer or a try whose answer was lost) counts as sent;
# 41096 (another app is sending it now) is not sent yet: hand off so a retry may follow.
_STATUS = {
    WelcomeOutcome.SENT: WelcomeStatus.SENT,
    WelcomeOutcome.EXPIRED: WelcomeStatus.EXPIRED,
    WelcomeOutcome.BUSY: WelcomeStatus.HANDED_OFF,
}


class WelcomeSender:
    def __init__(
        self,
        wecom: WeComApi,
        ledger: WelcomeLedger,
        channels: ChannelRepo,
        media: MediaLibrary,
        clock: Clock,
        default_text: str,
        window_s: int,
        stale_after_s: float,
    ) -> None:
        self._wecom = wecom
        self._ledger = ledger
        self._channels = channels
        self._media = media
        self._clock = clock
        self._default_text = default_text
        self._window_s = window_s
        self._stale_after_s = stale_after_s

    def channel(self, state: str) -> Channel | None:
        return self._channels.get(state) if state else None

    def try_send(self, event: WeComEvent, owner: str, budget_s: float) -> WelcomeClaim:
        """Claim the code and send within `budget_s`; the returned claim says who holds it now.

        granted=True with status SENT means this call sent it; HANDED_OFF means it failed
        and the other party may try. granted=False reports the current holder's status.
        """
        now = self._clock.now().timestamp()
        if not window_open(event.create_time, now, self._window_s):
            self._ledger.finish(event.welcome_code, WelcomeStatus.EXPIRED)
            log(logger, logging.WARNING, "welcome window closed", owner=owner)
            return WelcomeClaim(granted=False, status=WelcomeStatus.EXPIRED, owner=owner)
        claim = self._ledger.claim(event.welcome_code, owner, self._stale_after_s)
        if not claim.granted:
            return claim
        window_end = self._clock.monotonic() + (event.create_time + self._window_s - now)
        deadline = min(self._clock.monotonic() + budget_s, window_end)
        started = self._clock.monotonic()
        try:
            channel = self.channel(event.state)
            text = channel.welcome_text if channel else self._default_text
            # The upkeep job keeps media ids fresh: this reads them, it rarely uploads.
            attachments = self._media.wecom_attachments(channel.attachments) if channel else []
            outcome = self._wecom.send_welcome_msg(
                event.welcome_code, text, attachments, deadline=deadline
            )
            status = _STATUS[outcome]
        except DomainError as exc:
            log(logger, logging.WARNING, "welcome send failed", owner=owner, error=str(exc))
            status = WelcomeStatus.HANDED_OFF
        latency_ms = (self._clock.monotonic() - started) * 1000
        self._ledger.finish(event.welcome_code, status, latency_ms=latency_ms)
        log(logger, logging.INFO, "welcome", owner=owner, status=status, latency_ms=latency_ms)
        return WelcomeClaim(granted=True, status=status, owner=owner)
