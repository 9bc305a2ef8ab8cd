"""Benefit campaigns: saved as data, planned once per occurrence, sent as WeCom 群发 tasks,
followed until staff have sent them.

The one-a-day cap is a claim per (day, target): the first run to claim a customer or group
for a day sends to it, and every later one records the loss with the winner's run id. Runs
due in the same tick claim in priority order, so the higher priority wins.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Literal

from siyu.domain import compliance
from siyu.domain.calendar import CalendarGap, OfficialCalendar, OfficialYear
from siyu.domain.campaigns import (
    BatchRecord,
    Birthday,
    Campaign,
    CampaignBatch,
    CampaignRun,
    CampaignSpec,
    CancelOutcome,
    CancelResult,
    CustomerAudience,
    Occurrence,
    RunStatus,
    Target,
    birthdays_on,
    cut_batches,
    occurrences,
    render,
    run_id,
)
from siyu.domain.errors import Conflict, DomainError, NotFound, TransientError
from siyu.domain.model import Model
from siyu.domain.ops_tasks import calendar_missing
from siyu.domain.wecom import ReminderLimit
from siyu.logging import log
from siyu.ports import (
    AudienceSource,
    CalendarRepo,
    CampaignBatchRepo,
    CampaignRepo,
    CampaignRunRepo,
    CapLedger,
    Clock,
    GroupMessenger,
    MessagePublisher,
    OpsTaskRepo,
)
from siyu.services.cached import Cached
from siyu.services.group_welcome import GroupWelcomes
from siyu.services.media import MediaLibrary
from siyu.services.ticks import Tick

logger = logging.getLogger(__name__)

PREVIEW_HORIZON = timedelta(days=62)
STALE_PLANNING = timedelta(minutes=10)  # a run still "planning" this long was abandoned


class HolidayCalendar:
    """The package's years, overridden by years ops loaded; re-read every `refresh_s`."""

    def __init__(
        self, package: list[OfficialYear], repo: CalendarRepo, clock: Clock, refresh_s: float
    ) -> None:
        self._package = package
        self._repo = repo
        self._cached = Cached(self._load, clock, refresh_s)

    def put(self, year: OfficialYear) -> OfficialYear:
        self._repo.put(year)
        self._cached.forget()
        return year

    def calendar(self) -> OfficialCalendar:
        return self._cached.get()

    def _load(self) -> OfficialCalendar:
        years = {y.year: y for y in self._package} | {y.year: y for y in self._repo.all()}
        return OfficialCalendar(list(years.values()))


def audience_of(
    source: AudienceSource, campaign: CampaignSpec, occurrence: Occurrence
) -> tuple[list[Target], int]:
    """Every target once, read page by page, and how many were left out because they refuse
    marketing; birthday campaigns only reach that day's."""
    audience = campaign.audience
    if isinstance(audience, CustomerAudience):
        days = birthdays_on(occurrence.day) if isinstance(campaign.schedule, Birthday) else None
        pages = source.customers(audience, days)
    else:
        pages = source.groups(audience)
    seen: dict[str, Target] = {}
    for page in pages:
        for target in page:
            seen.setdefault(target.id, target)
    reached = [t for t in seen.values() if not t.opted_out]
    return reached, len(seen) - len(reached)


def chat_type(campaign: CampaignSpec) -> Literal["single", "group"]:
    return "single" if isinstance(campaign.audience, CustomerAudience) else "group"


class Preview(Model):
    campaign_id: str
    next_occurrence: Occurrence | None
    audience: int
    opted_out: int = 0
    by_sender: dict[str, int]
    batches: int
    sample: str
    note: str = ""


class RunReport(CampaignRun):
    """A run with its batches' results added up."""

    tasks_created: int = 0
    failed_targets: int = 0  # add_msg_template's fail_list: not the sender's contact or group
    confirmed: int = 0  # tasks the staff member sent from the client
    delivered: int = 0
    not_delivered: int = 0  # e.g. the customer had another 群发 that day
    reminders: int = 0
    cancelled: int = 0  # tasks pulled back before the staff member sent them


class TaskCancel(Model):
    batch_id: str
    sender: str
    msgid: str
    outcome: CancelOutcome
    detail: str = ""


class RunCancel(Model):
    """POST …/runs/{occurrence}:cancel: what became of each of the run's tasks."""

    run_id: str
    status: RunStatus
    tasks: list[TaskCancel]


class CampaignAdmin:
    def __init__(
        self,
        campaigns: CampaignRepo,
        runs: CampaignRunRepo,
        records: CampaignBatchRepo,
        source: AudienceSource,
        calendars: HolidayCalendar,
        wecom: GroupMessenger,
        media: MediaLibrary,
        welcomes: GroupWelcomes,
        clock: Clock,
        banned: list[str],
    ) -> None:
        self._campaigns = campaigns
        self._runs = runs
        self._records = records
        self._source = source
        self._calendars = calendars
        self._wecom = wecom
        self._media = media
        self._welcomes = welcomes
        self._clock = clock
        self._banned = banned

    def put(self, campaign_id: str, spec: CampaignSpec) -> Campaign:
        """Refused (NotCompliant, naming the words) when the copy breaks the rules, or when an
        attachment names media the library lacks. Group welcomes that list benefits follow."""
        content = spec.content
        compliance.check("content.text", content.text, content.other_texts(), self._banned)
        self._media.require("content.attachments", content.attachments)
        campaign = Campaign(id=campaign_id, updated_at=self._clock.now(), **dict(spec))
        self._campaigns.put(campaign)
        self._welcomes.sync_all()
        return campaign

    def cancel(self, campaign_id: str, occurrence: str) -> RunCancel:
        """Pull a run back: tasks staff have not sent are stopped (97611), tasks not yet made
        are never made; what was sent stays sent. Asking again retries only failures."""
        self.get(campaign_id)
        rid = run_id(campaign_id, occurrence)
        run = self._runs.get(rid)
        if run is None:
            raise NotFound(f"run {rid}")
        if run.status == RunStatus.REJECTED:
            raise Conflict(f"run {rid} was rejected before any task was made")
        if run.status != RunStatus.CANCELLED:
            self._runs.update(rid, status=RunStatus.CANCELLED.value)
        tasks = []
        for record in sorted(self._records.for_run(rid), key=lambda r: r.id):
            result = record.cancel
            if result is None or result.outcome is CancelOutcome.FAILED:
                result = cancel_task(self._wecom, record, self._clock.now())
                final = record.final or result.outcome is not CancelOutcome.FAILED
                self._records.save(record.model_copy(update={"cancel": result, "final": final}))
            tasks.append(
                TaskCancel(
                    batch_id=record.id,
                    sender=record.sender,
                    msgid=record.msgid,
                    outcome=result.outcome,
                    detail=result.detail,
                )
            )
        log(logger, logging.INFO, "run cancelled", run_id=rid, tasks=len(tasks))
        return RunCancel(run_id=rid, status=RunStatus.CANCELLED, tasks=tasks)

    def get(self, campaign_id: str) -> Campaign:
        campaign = self._campaigns.get(campaign_id)
        if campaign is None:
            raise NotFound(f"campaign {campaign_id}")
        return campaign

    def all(self) -> list[Campaign]:
        return sorted(self._campaigns.all(), key=lambda c: c.id)

    def runs(self, campaign_id: str, limit: int = 50) -> list[RunReport]:
        self.get(campaign_id)
        reports = []
        for run in self._runs.for_campaign(campaign_id, limit):
            records = self._records.for_run(run.id)
            reports.append(
                RunReport(
                    **dict(run),
                    tasks_created=sum(1 for r in records if r.msgid),
                    failed_targets=sum(r.failed for r in records),
                    confirmed=sum(1 for r in records if r.confirmed),
                    delivered=sum(r.delivered for r in records),
                    not_delivered=sum(r.not_delivered for r in records),
                    reminders=sum(len(r.reminders) for r in records),
                    cancelled=sum(
                        1
                        for r in records
                        if r.cancel and r.cancel.outcome is CancelOutcome.CANCELLED
                    ),
                )
            )
        return reports

    def preview(self, campaign_id: str) -> Preview:
        """Who the next occurrence would reach and what they would read; nothing is sent."""
        campaign = self.get(campaign_id)
        now = self._clock.now()
        note, upcoming = "", None
        try:
            found = occurrences(
                campaign.schedule, now, now + PREVIEW_HORIZON, self._calendars.calendar()
            )
            upcoming = next((o for o in found if campaign.active_on(o.day)), None)
        except CalendarGap as gap:
            note = str(gap)
        sample_at = upcoming or Occurrence(key="sample", at=now, day=now.date())
        targets, opted_out = audience_of(self._source, campaign, sample_at)
        batches = cut_batches(targets, chat_type(campaign))
        return Preview(
            campaign_id=campaign_id,
            next_occurrence=upcoming,
            audience=len(targets),
            opted_out=opted_out,
            by_sender=dict(Counter(t.owner for t in targets)),
            batches=len(batches),
            sample=render(campaign.content.text, campaign.name, sample_at),
            note=note or ("" if upcoming else "no occurrence in the next 62 days"),
        )


class CampaignPlanner:
    """on_campaign_tick: plan what is due, then follow the tasks already created."""

    def __init__(
        self,
        campaigns: CampaignRepo,
        runs: CampaignRunRepo,
        source: AudienceSource,
        caps: CapLedger,
        batches: MessagePublisher,
        calendars: HolidayCalendar,
        ops_tasks: OpsTaskRepo,
        tracker: ResultTracker,
        clock: Clock,
        banned: list[str],
        lookback: timedelta,
        allow_as_of: bool,
    ) -> None:
        self._campaigns = campaigns
        self._runs = runs
        self._source = source
        self._caps = caps
        self._batches = batches
        self._calendars = calendars
        self._ops_tasks = ops_tasks
        self._tracker = tracker
        self._clock = clock
        self._banned = banned
        self._lookback = lookback
        self._allow_as_of = allow_as_of

    def tick(self, tick: Tick) -> dict[str, int]:
        now = tick.now(self._clock.now(), self._allow_as_of)
        due: list[tuple[Campaign, Occurrence]] = []
        official = self._calendars.calendar()
        for campaign in self._campaigns.enabled():
            try:
                found = occurrences(campaign.schedule, now - self._lookback, now, official)
            except CalendarGap as gap:
                self._calendar_missing(campaign, now, gap)
                continue
            due += [(campaign, o) for o in found if campaign.active_on(o.day)]
        # Higher priority claims the day's 群发 first; ties by time, then id.
        due.sort(key=lambda d: (-d[0].priority, d[1].at, d[0].id))
        planned = sum(1 for campaign, occurrence in due if self._plan(campaign, occurrence, now))
        followed = self._tracker.follow(now)
        return {"due": len(due), "planned": planned, "followed": followed}

    def _calendar_missing(self, campaign: Campaign, now: datetime, gap: CalendarGap) -> None:
        self._ops_tasks.create(calendar_missing(gap.year, campaign.id, now))
        log(logger, logging.ERROR, "campaign skipped", campaign_id=campaign.id, reason=str(gap))

    def _plan(self, campaign: Campaign, occurrence: Occurrence, now: datetime) -> bool:
        """Plan one occurrence; False if another tick planned it already."""
        rid = run_id(campaign.id, occurrence.key)
        run = CampaignRun(
            id=rid,
            campaign_id=campaign.id,
            occurrence=occurrence,
            priority=campaign.priority,
            created_at=now,
        )
        if not self._runs.create(run):
            existing = self._runs.get(rid)
            abandoned = (
                existing is not None
                and existing.status is RunStatus.PLANNING
                and now - existing.created_at >= STALE_PLANNING
            )
            if not abandoned:
                return False
            # The tick that created it died half-way: claims and batch ids repeat exactly.
        content = campaign.content
        try:
            compliance.check("content.text", content.text, content.other_texts(), self._banned)
        except compliance.NotCompliant as exc:
            self._runs.update(rid, status=RunStatus.REJECTED.value, reason=str(exc))
            log(logger, logging.ERROR, "campaign refused", campaign_id=campaign.id, reason=str(exc))
            return True
        kind = chat_type(campaign)
        targets, opted_out = audience_of(self._source, campaign, occurrence)
        keys = {t.id: f"{kind}:{t.id}" for t in targets}
        lost = self._caps.claim(occurrence.day.isoformat(), rid, list(keys.values()))
        kept = [t for t in targets if keys[t.id] not in lost]
        text = render(content.text, campaign.name, occurrence)
        cut = cut_batches(kept, kind)
        for n, (sender, ids) in enumerate(cut):
            batch = CampaignBatch(
                id=f"{rid}-b{n}",
                run_id=rid,
                campaign_id=campaign.id,
                sender=sender,
                chat_type=kind,
                targets=ids,
                text=text,
                attachments=content.attachments,
                planned_at=now,
            )
            self._batches.send(batch, campaign_id=campaign.id)
        self._runs.update(
            rid,
            status=RunStatus.BATCHED.value,
            audience=len(targets),
            opted_out=opted_out,
            capped=len(lost),
            capped_by=dict(Counter(lost.values())),
            batches=len(cut),
            planned_at=now,
        )
        log(
            logger,
            logging.INFO,
            "campaign planned",
            run_id=rid,
            audience=len(targets),
            opted_out=opted_out,
            capped=len(lost),
            batches=len(cut),
        )
        return True


class BatchSender:
    """on_campaign_batch: one add_msg_template per batch, whatever Pub/Sub redelivers."""

    def __init__(
        self,
        records: CampaignBatchRepo,
        runs: CampaignRunRepo,
        wecom: GroupMessenger,
        media: MediaLibrary,
        clock: Clock,
        stale_after: timedelta,
    ) -> None:
        self._records = records
        self._runs = runs
        self._wecom = wecom
        self._media = media
        self._clock = clock
        self._stale_after = stale_after

    def _cancelled(self, run_id: str) -> bool:
        run = self._runs.get(run_id)
        return run is not None and run.status == RunStatus.CANCELLED

    def send(self, batch: CampaignBatch) -> str:
        now = self._clock.now()
        record = BatchRecord(
            id=batch.id,
            run_id=batch.run_id,
            sender=batch.sender,
            size=len(batch.targets),
            claimed_at=now,
            planned_at=batch.planned_at,
        )
        existing = self._records.claim(record)
        if existing is not None:
            if existing.msgid:
                return existing.msgid  # a redelivery: the task exists
            if now - existing.claimed_at < self._stale_after:
                raise TransientError(f"batch {batch.id} is being sent; retry later")
            # The delivery that claimed it died. WeCom has no idempotency key: if it died
            # after WeCom answered, this makes a second task (logged for ops).
            log(logger, logging.WARNING, "taking over a stale batch", batch_id=batch.id)
            record = existing.model_copy(update={"claimed_at": now})
            self._records.save(record)
        if self._cancelled(batch.run_id):
            result = CancelResult(outcome=CancelOutcome.NOT_CREATED, at=now)
            self._records.save(record.model_copy(update={"cancel": result, "final": True}))
            return ""
        # The media ids must outlive the moment the batch goes out as (a tick's, locally).
        attachments = self._media.wecom_attachments(batch.attachments, now=batch.planned_at)
        msgid, failed = self._wecom.add_msg_template(
            batch.chat_type, batch.sender, batch.targets, batch.text, attachments
        )
        record = record.model_copy(update={"msgid": msgid, "failed": len(failed)})
        self._records.save(record)
        if self._cancelled(batch.run_id):
            # Cancelled while this task was being made: pull it back too.
            result = cancel_task(self._wecom, record, self._clock.now())
            final = result.outcome is not CancelOutcome.FAILED
            self._records.save(record.model_copy(update={"cancel": result, "final": final}))
        log(
            logger,
            logging.INFO,
            "群发 task created",
            batch_id=batch.id,
            sender=batch.sender,
            targets=len(batch.targets),
            failed=len(failed),
        )
        return msgid


def cancel_task(wecom: GroupMessenger, record: BatchRecord, now: datetime) -> CancelResult:
    """Stop one task unless its sender sent it; read it again afterwards, since staff may
    press send in the moment between."""
    if not record.msgid:
        return CancelResult(outcome=CancelOutcome.NOT_CREATED, at=now)
    if record.confirmed:
        return CancelResult(outcome=CancelOutcome.ALREADY_SENT, at=now)
    try:
        if _sent(wecom, record):
            return CancelResult(outcome=CancelOutcome.ALREADY_SENT, at=now)
        wecom.cancel_groupmsg_send(record.msgid)
        if _sent(wecom, record):
            return CancelResult(outcome=CancelOutcome.ALREADY_SENT, at=now)
    except DomainError as exc:
        return CancelResult(outcome=CancelOutcome.FAILED, detail=str(exc)[:300], at=now)
    return CancelResult(outcome=CancelOutcome.CANCELLED, at=now)


def _sent(wecom: GroupMessenger, record: BatchRecord) -> bool:
    tasks = wecom.get_groupmsg_task(record.msgid)
    return any(t.userid == record.sender and t.sent for t in tasks)


class ResultTracker:
    """Reads what staff did with each task; reminds those who have not sent (≤ 3 a day)."""

    def __init__(
        self,
        records: CampaignBatchRepo,
        wecom: GroupMessenger,
        follow_for: timedelta,
        remind_every: timedelta,
        limit: int = 200,
    ) -> None:
        self._records = records
        self._wecom = wecom
        self._follow_for = follow_for
        self._remind_every = remind_every
        self._limit = limit

    def follow(self, now: datetime) -> int:
        followed = 0
        for record in self._records.following(self._limit):
            try:
                record = self._follow_one(record, now)
            except TransientError as exc:
                # 41063 (the task is still being created) or a busy WeCom: next tick.
                log(logger, logging.INFO, "群发 result not readable yet", error=str(exc))
                continue
            self._records.save(record)
            followed += 1
        return followed

    def _follow_one(self, record: BatchRecord, now: datetime) -> BatchRecord:
        tasks = self._wecom.get_groupmsg_task(record.msgid)
        mine = next((t for t in tasks if t.userid == record.sender), None)
        if mine is not None and mine.sent:
            results = self._wecom.get_groupmsg_send_result(record.msgid, record.sender)
            delivered = sum(1 for r in results if r.delivered)
            return record.model_copy(
                update={
                    "confirmed": True,
                    "delivered": delivered,
                    "not_delivered": len(results) - delivered,
                    "final": True,
                }
            )
        if now - record.planned_at > self._follow_for:
            return record.model_copy(update={"final": True})  # never confirmed
        today = [r for r in record.reminders if now - r < timedelta(hours=24)]
        last = max(record.reminders, default=record.planned_at)
        if len(today) < 3 and now - last >= self._remind_every:
            try:
                self._wecom.remind_groupmsg_send(record.msgid)
            except ReminderLimit:
                # 41094: WeCom allows no more reminders now; counted as used, not retried.
                log(logger, logging.INFO, "群发 reminder limit reached", msgid=record.msgid)
            return record.model_copy(update={"reminders": [*record.reminders, now]})
        return record
