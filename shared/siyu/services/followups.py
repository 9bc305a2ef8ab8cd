"""on_followup_tick: every 15 minutes, each staff member gets their due tasks in one message."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from siyu.domain.errors import TransientError
from siyu.domain.followups import Followup, reminder_text
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
        for task in self._followups.due(now, MAX_DUE):
            if task.staff_userid:  # unassigned tasks wait for ops (GET /ops/followups)
                by_staff[task.staff_userid].append(task)
        sent: dict[str, int] = {}
        failed = []
        for staff, tasks in sorted(by_staff.items()):
            names = {t.external_userid: self._name(t.external_userid) for t in tasks}
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

    def _name(self, external_userid: str) -> str:
        customer = self._customers.get(external_userid) if external_userid else None
        return customer.name if customer else ""
