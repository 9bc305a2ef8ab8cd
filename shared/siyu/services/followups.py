"""Follow-ups: the tick that reminds each staff member of their due tasks in one message every
15 minutes, and the book where tasks are closed, snoozed or cancelled when their cause ends."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from siyu.domain.customers import Customer, RelationStatus
from siyu.domain.errors import NotFound, TransientError
from siyu.domain.followups import (
    Done,
    Followup,
    FollowupReason,
    FollowupStatus,
    Snooze,
    closed,
    reminder_text,
    snoozed,
)
from siyu.domain.ops_tasks import staff_unreachable
from siyu.domain.wecom import NoValidRecipient
from siyu.logging import log
from siyu.ports import AppMessenger, Clock, CustomerRepo, Dedupe, FollowupRepo, OpsTaskRepo
from siyu.services.ticks import Tick

logger = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
MAX_DUE = 2_000  # per tick; the rest wait for the next one


class FollowupNotifier:
    def __init__(
        self,
        followups: FollowupRepo,
        customers: CustomerRepo,
        dedupe: Dedupe,
        app: AppMessenger,
        ops_tasks: OpsTaskRepo,
        clock: Clock,
        allow_as_of: bool,
    ) -> None:
        self._followups = followups
        self._customers = customers
        self._dedupe = dedupe
        self._app = app
        self._ops_tasks = ops_tasks
        self._clock = clock
        self._allow_as_of = allow_as_of

    def tick(self, tick: Tick) -> dict[str, int]:
        """Remind each staff member once per 15-minute slot; returns tasks sent per staff."""
        now = tick.now(self._clock.now(), self._allow_as_of)
        slot = datetime.fromtimestamp(
            now.timestamp() // SLOT.total_seconds() * SLOT.total_seconds()
        )
        marker = f"tick-followups-{slot:%Y%m%d%H%M}"
        if not self._dedupe.claim(marker, at=now):
            return {}  # a redelivered tick, or a second one in the same slot
        by_staff: dict[str, list[Followup]] = defaultdict(list)
        customers: dict[str, Customer | None] = {}
        for task in self._followups.due(now, MAX_DUE):
            if not task.staff_userid:  # unassigned tasks wait for ops (GET /ops/followups)
                continue
            ext = task.external_userid
            if ext and ext not in customers:
                customers[ext] = self._customers.get(ext)
            if task.reason is FollowupReason.REVISIT and not _still_related(
                customers.get(ext), task.staff_userid
            ):
                # The relation ended before the revisit fell due: nobody to revisit.
                self._followups.save(closed(task, FollowupStatus.CANCELLED, now, "关系已结束"))
                continue
            by_staff[task.staff_userid].append(task)
        sent: dict[str, int] = {}
        failed = []
        for staff, tasks in sorted(by_staff.items()):
            names = {t.external_userid: _name(customers.get(t.external_userid)) for t in tasks}
            try:
                result = self._app.send_text(staff, reminder_text(tasks, names))
            except TransientError as exc:
                failed.append(f"{staff}: {exc}")
                continue
            except NoValidRecipient as exc:
                self._unreachable(staff, str(exc), now)
                continue
            if staff.lower() in result.unreached:  # 90236 lower-cases the ids it returns
                self._unreachable(staff, "invaliduser/unlicenseduser", now)
                continue
            # One message per staff member and slot keeps far below WeCom's 30 a minute.
            self._followups.mark_sent([t.id for t in tasks], now)
            sent[staff] = len(tasks)
        log(
            logger,
            logging.INFO,
            "follow-up reminders sent",
            staff=len(sent),
            tasks=sum(sent.values()),
            failed=len(failed),
        )
        if failed:
            # Let Pub/Sub redeliver: the slot is freed, and only unsent tasks are still due.
            self._dedupe.release(marker)
            raise TransientError(f"reminders not sent: {'; '.join(failed)}")
        return sent

    def _unreachable(self, staff: str, why: str, now: datetime) -> None:
        """Their tasks stay open (and due) for whoever takes the customers; ops are told."""
        self._ops_tasks.create(staff_unreachable(staff, why, now))
        log(logger, logging.WARNING, "reminders undeliverable", staff_userid=staff, error=why)


def _name(customer: Customer | None) -> str:
    return customer.name if customer else ""


def _still_related(customer: Customer | None, staff_userid: str) -> bool:
    relation = customer.relation(staff_userid) if customer else None
    return relation is not None and relation.status is RelationStatus.ACTIVE


class FollowupBook:
    """Closing, snoozing and cancelling tasks (POST /ops/followups/{id}:done|:snooze)."""

    def __init__(self, followups: FollowupRepo, clock: Clock) -> None:
        self._followups = followups
        self._clock = clock

    def done(self, followup_id: str, body: Done) -> Followup:
        """Idempotent: a task already closed is returned as it stands."""
        task = self._get(followup_id)
        done = closed(task, FollowupStatus.DONE, self._clock.now(), body.note)
        if done != task:
            self._followups.save(done)
        return done

    def snooze(self, followup_id: str, body: Snooze) -> Followup:
        task = snoozed(self._get(followup_id), body, self._clock.now())
        self._followups.save(task)
        return task

    def cancel_revisits(self, external_userid: str, staff_userid: str, why: str) -> int:
        """The relation ended: its revisits not yet done will not be sent."""
        return self._cancel(
            self._followups.open_of(external_userid, staff_userid, FollowupReason.REVISIT), why
        )

    def cancel_journey(self, bank_customer_id: str, journey: str) -> int:
        """The journey completed: whoever was to call back about it need not."""
        return self._cancel(self._followups.open_journey(bank_customer_id, journey), "业务已完成")

    def _cancel(self, tasks: list[Followup], why: str) -> int:
        now = self._clock.now()
        for task in tasks:
            self._followups.save(closed(task, FollowupStatus.CANCELLED, now, why))
        if tasks:
            log(logger, logging.INFO, "follow-ups cancelled", count=len(tasks), why=why)
        return len(tasks)

    def _get(self, followup_id: str) -> Followup:
        task = self._followups.get(followup_id)
        if task is None:
            raise NotFound(f"follow-up {followup_id}")
        return task
