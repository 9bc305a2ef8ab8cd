"""The callback's use case: verify, store, fast welcome, publish, and answer inside 5 s."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Protocol

from siyu.domain.errors import Forbidden, TransientError
from siyu.domain.events import Acknowledged, WeComEvent, WelcomeState
from siyu.domain.inbox import InboxStatus
from siyu.domain.intake import CallbackQuery, IntakeResult, Outcome
from siyu.domain.welcome import WelcomeStatus
from siyu.logging import log
from siyu.ports import CallbackInbox, Clock, EventPublisher
from siyu.services.ticks import Tick
from siyu.services.welcome import WelcomeSender

logger = logging.getLogger(__name__)


class Codec(Protocol):
    def open_echo(self, query: CallbackQuery, echostr: str) -> str: ...

    def open_event(self, query: CallbackQuery, body: bytes) -> WeComEvent | Acknowledged: ...


class CallbackIntake:
    def __init__(
        self,
        codec: Codec,
        inbox: CallbackInbox,
        publisher: EventPublisher,
        welcome: WelcomeSender,
        clock: Clock,
        replay_window_s: int,
        welcome_budget_s: float,
    ) -> None:
        self._codec = codec
        self._inbox = inbox
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
        """Store, then publish; answer 200 once either holds the event (503 only if neither)."""
        opened = self._codec.open_event(query, body)
        self._check_fresh(query)
        if isinstance(opened, Acknowledged):
            log(logger, logging.INFO, "callback acknowledged", kind=opened.kind, why=opened.reason)
            return IntakeResult(outcome=Outcome.ACKNOWLEDGED, dedupe_key="", welcome="none")
        event = opened.model_copy(update={"welcome": _owed(opened)})
        key = f"cb-{event.dedupe_key}"
        try:
            stored: bool | None = self._inbox.claim(key, event)
        except TransientError as exc:
            log(logger, logging.WARNING, "inbox unavailable; publishing only", error=str(exc))
            stored = None
        if stored is False:
            return self._duplicate(key, event)
        event = event.model_copy(update={"welcome": self._fast_welcome(event)})
        return self._publish(key, event, stored=stored is True, outcome=Outcome.ACCEPTED)

    def _publish(self, key: str, event: WeComEvent, stored: bool, outcome: Outcome) -> IntakeResult:
        try:
            message_id = self._publisher.publish(event)
        except TransientError as exc:
            if not stored:
                raise  # neither the inbox nor Pub/Sub holds it: 503, let WeCom retry
            self._keep(key, event, str(exc))
            return IntakeResult(
                outcome=Outcome.KEPT, dedupe_key=key, welcome=event.welcome, message_id=""
            )
        if stored:
            try:
                self._inbox.mark(key, InboxStatus.PUBLISHED, message_id=message_id)
            except TransientError as exc:
                # The sweeper will publish it again; the worker's dedupe absorbs the copy.
                log(logger, logging.WARNING, "published but not marked", error=str(exc))
        log(
            logger,
            logging.INFO,
            "callback accepted",
            change_type=event.change_type,
            outcome=outcome,
            welcome=event.welcome,
            message_id=message_id,
        )
        return IntakeResult(
            outcome=outcome, dedupe_key=key, welcome=event.welcome, message_id=message_id
        )

    def _keep(self, key: str, event: WeComEvent, reason: str) -> None:
        """Publishing failed: leave the event to the sweeper (the claim already holds it)."""
        # If even this fails, the entry is still RECEIVED with the event: the sweeper takes
        # it once it is old enough.
        with contextlib.suppress(TransientError):
            self._inbox.mark(key, InboxStatus.PENDING, event, reason=reason[:200])
        log(logger, logging.WARNING, "publish failed; the event waits in the inbox", error=reason)

    def _duplicate(self, key: str, event: WeComEvent) -> IntakeResult:
        entry = self._inbox.get(key)
        if entry is None or entry.status is InboxStatus.PUBLISHED:
            log(logger, logging.INFO, "duplicate callback absorbed", change_type=event.change_type)
            return IntakeResult(outcome=Outcome.DUPLICATE, dedupe_key=key, welcome="unchanged")
        # The first delivery is still in flight, or its publish failed: publish too, so the
        # event survives either way. The worker dedupes, and the welcome ledger decides who
        # sends, so a second copy changes nothing.
        return self._publish(key, entry.event, stored=True, outcome=Outcome.DUPLICATE)

    def _fast_welcome(self, event: WeComEvent) -> WelcomeState:
        if not event.greets or self._welcome_budget_s <= 0:
            return event.welcome
        try:
            claim = self._welcome.try_send(event, "callback", self._welcome_budget_s)
        except TransientError as exc:
            log(logger, logging.WARNING, "fast welcome skipped", error=str(exc))
            return WelcomeState.PENDING
        if claim.granted and claim.status is WelcomeStatus.SENT:
            return WelcomeState.SENT
        return WelcomeState.PENDING


def _owed(event: WeComEvent) -> WelcomeState:
    """Until someone sends it, an add's welcome is owed by the worker."""
    return WelcomeState.PENDING if event.greets else WelcomeState.NONE


class InboxSweeper:
    """Publish the events the callback stored but could not publish (every minute)."""

    def __init__(
        self,
        inbox: CallbackInbox,
        publisher: EventPublisher,
        clock: Clock,
        min_age_s: float,
        limit: int = 500,
    ) -> None:
        self._inbox = inbox
        self._publisher = publisher
        self._clock = clock
        self._min_age = timedelta(seconds=min_age_s)
        self._limit = limit

    def sweep(self, _tick: Tick | None = None) -> int:
        """Entries younger than min_age may still be in their callback's hands: left alone."""
        published = 0
        for entry in self._inbox.unpublished(self._clock.now() - self._min_age, self._limit):
            message_id = self._publisher.publish(entry.event)  # TransientError: next tick
            self._inbox.mark(entry.key, InboxStatus.PUBLISHED, message_id=message_id)
            published += 1
        if published:
            log(logger, logging.WARNING, "inbox swept", published=published)
        return published
