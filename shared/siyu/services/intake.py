"""The callback's use case: verify, dedupe, fast welcome, publish, and answer inside 5 s."""

from __future__ import annotations

import logging
from typing import Protocol

from siyu.domain.errors import Forbidden, TransientError
from siyu.domain.events import WeComEvent, WelcomeState
from siyu.domain.intake import CallbackQuery, IntakeResult, Outcome
from siyu.domain.welcome import WelcomeStatus
from siyu.logging import log
from siyu.ports import Clock, Dedupe, EventPublisher
from siyu.services.welcome import WelcomeSender

logger = logging.getLogger(__name__)


class Codec(Protocol):
    def open_echo(self, query: CallbackQuery, echostr: str) -> str: ...

    def open_event(self, query: CallbackQuery, body: bytes) -> WeComEvent: ...


class CallbackIntake:
    def __init__(
        self,
        codec: Codec,
        dedupe: Dedupe,
        publisher: EventPublisher,
        welcome: WelcomeSender,
        clock: Clock,
        replay_window_s: int,
        welcome_budget_s: float,
    ) -> None:
        self._codec = codec
        self._dedupe = dedupe
        self._publisher = publisher
        self._welcome = welcome
        self._clock = clock
        self._replay_window_s = replay_window_s
        self._welcome_budget_s = welcome_budget_s

    def _check_fresh(self, query: CallbackQuery) -> None:
        if self._replay_window_s <= 0:
            return
        skew = abs(self._clock.now().timestamp() - int(query.timestamp))
        if skew > self._replay_window_s:
            raise Forbidden(f"timestamp outside the {self._replay_window_s}-s replay window")

    def verify_url(self, query: CallbackQuery, echostr: str) -> str:
        """Answer WeCom's URL verification with the decrypted echostr."""
        self._check_fresh(query)
        return self._codec.open_echo(query, echostr)

    def receive(self, query: CallbackQuery, body: bytes) -> IntakeResult:
        event = self._codec.open_event(query, body)
        self._check_fresh(query)
        key = f"cb-{event.dedupe_key}"
        if not self._dedupe.claim(key, status="received"):
            return self._duplicate(key, event)
        welcome = self._fast_welcome(event)
        event = event.model_copy(update={"welcome": welcome})
        try:
            message_id = self._publisher.publish(event)
        except TransientError:
            # Let WeCom's retry find no marker, so the event is not lost.
            self._dedupe.release(key)
            raise
        self._dedupe.update(key, status="published", message_id=message_id)
        log(
            logger,
            logging.INFO,
            "callback accepted",
            change_type=event.change_type,
            welcome=welcome,
            message_id=message_id,
        )
        return IntakeResult(
            outcome=Outcome.ACCEPTED, dedupe_key=key, welcome=welcome, message_id=message_id
        )

    def _duplicate(self, key: str, event: WeComEvent) -> IntakeResult:
        marker = self._dedupe.get(key) or {}
        if marker.get("status") == "published":
            log(logger, logging.INFO, "duplicate callback absorbed", change_type=event.change_type)
            return IntakeResult(outcome=Outcome.DUPLICATE, dedupe_key=key, welcome="unchanged")
        # The first delivery is still in flight and may yet fail: publish too, so the
        # event survives either way. The worker dedupes, and the welcome ledger decides
        # who sends, so a second copy changes nothing.
        welcome = WelcomeState.PENDING if event.welcome_code else WelcomeState.NONE
        message_id = self._publisher.publish(event.model_copy(update={"welcome": welcome}))
        log(logger, logging.INFO, "duplicate of an in-flight callback republished")
        return IntakeResult(
            outcome=Outcome.DUPLICATE, dedupe_key=key, welcome=welcome, message_id=message_id
        )

    def _fast_welcome(self, event: WeComEvent) -> WelcomeState:
        if not event.welcome_code:
            return WelcomeState.NONE
        if self._welcome_budget_s <= 0:
            return WelcomeState.PENDING
        claim = self._welcome.try_send(event, "callback", self._welcome_budget_s)
        if claim.granted and claim.status is WelcomeStatus.SENT:
            return WelcomeState.SENT
        return WelcomeState.PENDING
