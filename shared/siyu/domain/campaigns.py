"""Benefit campaigns as data: when (schedules in Asia/Shanghai), to whom, what, and how a run
is cut into WeCom 群发 batches.

Each schedule yields occurrences; an occurrence is planned once (`campaign_runs/{id}@{key}`).
"""

from __future__ import annotations

import calendar as gregorian
import string
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, field_validator, model_validator

from siyu.domain.access import BranchRef
from siyu.domain.calendar import HOLIDAY_LABELS, HolidayName, OfficialCalendar
from siyu.domain.content import MAX_ATTACHMENTS, Attachment
from siyu.domain.groups import Group
from siyu.domain.layering import SEGMENT_GROUP, SEGMENTS, STAGE_GROUP, STAGE_NAMES, Stage
from siyu.domain.model import Model

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_CUSTOMERS_PER_CALL = 10_000  # add_msg_template: external_userid per call
MAX_GROUPS_PER_CALL = 2_000  # add_msg_template: chat_id_list per call
MEAL_TIMES = {"breakfast": "07:30", "lunch": "11:30", "dinner": "17:30"}
MEAL_LABELS = {"breakfast": "早餐", "lunch": "午餐", "dinner": "晚餐"}
WEEKDAY_LABELS = "一二三四五六日"
TEMPLATE_VARS = ("date", "weekday", "holiday", "meal", "campaign")

HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]


class _Schedule(Model):
    model_config = ConfigDict(extra="forbid")


class Daily(_Schedule):
    kind: Literal["daily"]
    at: HHMM
    workdays_only: bool = False  # official working days, 调休 included


class Weekly(_Schedule):
    kind: Literal["weekly"]
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7)
    at: HHMM


class Monthly(_Schedule):
    """Days of the month; "last" is the month's last day (a 31 in a 30-day month never runs)."""

    kind: Literal["monthly"]
    days: list[Annotated[int, Field(ge=1, le=31)] | Literal["last"]] = Field(min_length=1)
    at: HHMM


class Holiday(_Schedule):
    """Statutory holidays: on the eve, the first day, or every day off of each one."""

    kind: Literal["holiday"]
    holidays: list[HolidayName] = Field(default_factory=list)  # empty: all seven
    on: Literal["eve", "first_day", "every_day"] = "first_day"
    at: HHMM


class Meal(_Schedule):
    kind: Literal["meal"]
    meals: list[Literal["breakfast", "lunch", "dinner"]] = Field(min_length=1)
    workdays_only: bool = False


class Birthday(_Schedule):
    """Daily at `at`, to the customers whose birthday is that day (29 Feb → 28 Feb)."""

    kind: Literal["birthday"]
    at: HHMM


Schedule = Annotated[
    Daily | Weekly | Monthly | Holiday | Meal | Birthday, Field(discriminator="kind")
]


class Occurrence(Model):
    key: str  # unique per campaign: the date, plus the meal for meal-time campaigns
    at: datetime
    day: date
    holiday: str = ""
    meal: str = ""


def occurrences(
    schedule: Daily | Weekly | Monthly | Holiday | Meal | Birthday,
    start: datetime,
    end: datetime,
    official: OfficialCalendar,
) -> list[Occurrence]:
    """Occurrences with start < at <= end. CalendarGap for a year the calendar lacks."""
    first = start.astimezone(SHANGHAI).date()
    last = end.astimezone(SHANGHAI).date()
    found = []
    for day in _days(first, last):
        for occurrence in _on_day(schedule, day, official):
            if start < occurrence.at <= end:
                found.append(occurrence)
    return found


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _at(day: date, hhmm: str) -> datetime:
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def _on_day(
    schedule: Daily | Weekly | Monthly | Holiday | Meal | Birthday,
    day: date,
    official: OfficialCalendar,
) -> list[Occurrence]:
    key = day.isoformat()
    if isinstance(schedule, Daily | Birthday):
        if isinstance(schedule, Daily) and schedule.workdays_only and not official.is_workday(day):
            return []
        return [Occurrence(key=key, at=_at(day, schedule.at), day=day)]
    if isinstance(schedule, Weekly):
        if day.isoweekday() not in schedule.weekdays:
            return []
        return [Occurrence(key=key, at=_at(day, schedule.at), day=day)]
    if isinstance(schedule, Monthly):
        month_end = gregorian.monthrange(day.year, day.month)[1]
        wanted = {month_end if d == "last" else d for d in schedule.days}
        if day.day not in wanted:
            return []
        return [Occurrence(key=key, at=_at(day, schedule.at), day=day)]
    if isinstance(schedule, Holiday):
        return _holiday(schedule, day, official)
    if schedule.workdays_only and not official.is_workday(day):
        return []
    return [
        Occurrence(
            key=f"{key}-{meal}",
            at=_at(day, MEAL_TIMES[meal]),
            day=day,
            meal=MEAL_LABELS[meal],
        )
        for meal in schedule.meals
    ]


def _holiday(schedule: Holiday, day: date, official: OfficialCalendar) -> list[Occurrence]:
    wanted: set[str] = set(schedule.holidays) or set(HOLIDAY_LABELS)
    years = [day.year]
    if day.month == 12 and day.day >= 28 and "new_years_day" in wanted:
        years.append(day.year + 1)  # next year's New Year's Day may start (or have its eve) now
    for year in years:
        for period in official.holidays(year):
            if period.name not in wanted:
                continue
            hit = {
                "eve": day == period.eve,
                "first_day": day == period.first_day,
                "every_day": period.first_day <= day <= period.last_day,
            }[schedule.on]
            if hit:
                label = HOLIDAY_LABELS[period.name]
                at = _at(day, schedule.at)
                return [Occurrence(key=day.isoformat(), at=at, day=day, holiday=label)]
    return []


def birthdays_on(day: date) -> list[str]:
    """The MM-DD birthdays celebrated on `day`: 29 February on the 28th of a common year."""
    days = [f"{day:%m-%d}"]
    if day.month == 2 and day.day == 28 and not gregorian.isleap(day.year):
        days.append("02-29")
    return days


# -- audience --------------------------------------------------------------------------


class GroupAudience(Model):
    """Benefit groups matching every non-empty list (each list: any of its values)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["groups"]
    cities: list[str] = Field(default_factory=list, max_length=30)
    kinds: list[str] = Field(default_factory=list, max_length=30)
    tags: list[str] = Field(default_factory=list, max_length=30)

    def admits(self, group: Group) -> bool:
        return (
            (not self.cities or group.city in self.cities)
            and (not self.kinds or group.kind in self.kinds)
            and (not self.tags or bool(set(self.tags) & set(group.tags)))
            and group.is_benefit_group
        )


class CustomerAudience(Model):
    """Customers (WeCom contacts with an active relation) matching every non-empty list.
    Tags are "group/name"; stage and segment are tags too, kept in step by on_tag_sync."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["customers"]
    tags: list[Annotated[str, Field(pattern=r"^[^/]+/[^/]+$")]] = Field(
        default_factory=list, max_length=30
    )
    stages: list[Stage] = Field(default_factory=list)
    segments: list[str] = Field(default_factory=list, max_length=8)

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, value: list[str]) -> list[str]:
        unknown = set(value) - set(SEGMENTS.values())
        if unknown:
            raise ValueError(f"unknown segments {sorted(unknown)}; use {sorted(SEGMENTS.values())}")
        return value

    def tag_sets(self) -> list[set[str]]:
        """The conditions as sets of tag names: a customer needs one tag from each set."""
        sets = [
            set(self.tags),
            {f"{STAGE_GROUP}/{STAGE_NAMES[s]}" for s in self.stages},
            {f"{SEGMENT_GROUP}/{s}" for s in self.segments},
        ]
        return [s for s in sets if s]

    def admits(self, tag_names: set[str]) -> bool:
        return all(wanted & tag_names for wanted in self.tag_sets())


Audience = Annotated[GroupAudience | CustomerAudience, Field(discriminator="kind")]


class Target(Model):
    """One recipient of a 群发 and the staff member who sends it."""

    id: str  # external_userid or chat_id
    owner: str
    opted_out: bool = False  # a customer who wants no marketing: counted, never sent to


# -- content ---------------------------------------------------------------------------


class Content(Model):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)

    @field_validator("text")
    @classmethod
    def _known_variables(cls, value: str) -> str:
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(value) if field}
        except ValueError as exc:
            raise ValueError(f"bad template: {exc}; write {{{{ and }}}} for braces") from exc
        unknown = names - set(TEMPLATE_VARS)
        if unknown:
            raise ValueError(f"unknown variables {sorted(unknown)}; use {list(TEMPLATE_VARS)}")
        return value

    def other_texts(self) -> list[str]:
        return [t for a in self.attachments for t in a.texts()]


def render(text: str, campaign_name: str, occurrence: Occurrence) -> str:
    values = {
        "date": f"{occurrence.day.month}月{occurrence.day.day}日",
        "weekday": f"周{WEEKDAY_LABELS[occurrence.day.weekday()]}",
        "holiday": occurrence.holiday,
        "meal": occurrence.meal,
        "campaign": campaign_name,
    }
    return text.format_map(values)


# -- campaigns and their runs -------------------------------------------------------------


class CampaignSpec(Model):
    """PUT /ops/campaigns/{id}."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60)
    schedule: Schedule
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    active_from: date
    active_to: date | None = None
    priority: int = Field(50, ge=0, le=100, description="higher wins the one-a-day cap")
    audience: Audience
    content: Content
    enabled: bool = True
    branch: BranchRef = ""

    @model_validator(mode="after")
    def _consistent(self) -> CampaignSpec:
        if self.active_to and self.active_to < self.active_from:
            raise ValueError("active_to is before active_from")
        if isinstance(self.schedule, Birthday) and not isinstance(self.audience, CustomerAudience):
            raise ValueError("a birthday campaign goes to customers, not groups")
        return self

    def active_on(self, day: date) -> bool:
        return (
            self.enabled
            and self.active_from <= day
            and (not self.active_to or day <= self.active_to)
        )


class Campaign(CampaignSpec):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    updated_at: datetime


class RunStatus(StrEnum):
    PLANNING = "planning"
    BATCHED = "batched"
    REJECTED = "rejected"  # failed compliance before fan-out
    CANCELLED = "cancelled"  # ops pulled it back: no further task is created or followed


class CampaignRun(Model):
    id: str  # "<campaign>@<occurrence key>"
    campaign_id: str
    occurrence: Occurrence
    priority: int
    status: RunStatus = RunStatus.PLANNING
    reason: str = ""
    audience: int = 0
    capped: int = 0  # targets that already had their 群发 of the day
    capped_by: dict[str, int] = Field(default_factory=dict)  # winning run → count
    opted_out: int = 0  # customers of the audience skipped because they refuse marketing
    batches: int = 0
    created_at: datetime
    planned_at: datetime | None = None


def run_id(campaign_id: str, occurrence_key: str) -> str:
    return f"{campaign_id}@{occurrence_key}"


class CampaignBatch(Model):
    """The message on `campaign-batches`: one add_msg_template call."""

    id: str
    run_id: str
    campaign_id: str
    sender: str
    chat_type: Literal["single", "group"]
    targets: list[str] = Field(min_length=1)
    text: str
    attachments: list[Attachment] = Field(default_factory=list)
    planned_at: datetime  # the planner's clock: results are followed from here

    @model_validator(mode="after")
    def _within_wecom_limits(self) -> CampaignBatch:
        limit = MAX_CUSTOMERS_PER_CALL if self.chat_type == "single" else MAX_GROUPS_PER_CALL
        if len(self.targets) > limit:
            raise ValueError(f"{len(self.targets)} targets; one call takes at most {limit}")
        return self


def cut_batches(
    targets: list[Target], chat_type: Literal["single", "group"]
) -> list[tuple[str, list[str]]]:
    """Group by sender and cut at WeCom's per-call limit: the fewest calls there can be."""
    limit = MAX_CUSTOMERS_PER_CALL if chat_type == "single" else MAX_GROUPS_PER_CALL
    by_sender: dict[str, list[str]] = {}
    for target in targets:
        by_sender.setdefault(target.owner, []).append(target.id)
    return [
        (sender, ids[start : start + limit])
        for sender, ids in sorted(by_sender.items())
        for start in range(0, len(ids), limit)
    ]


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # cancel_groupmsg_send stopped it before the staff member sent it
    ALREADY_SENT = "already_sent"  # the staff member had sent it: a 群发 cannot be recalled
    NOT_CREATED = "not_created"  # the run was cancelled before this task was made
    FAILED = "failed"  # WeCom refused; `detail` says why (asking again may succeed)


class CancelResult(Model):
    outcome: CancelOutcome
    detail: str = ""
    at: datetime


class BatchRecord(Model):
    """`campaign_batches/{id}`: what became of one batch in WeCom."""

    id: str
    run_id: str
    sender: str
    size: int
    claimed_at: datetime  # the sender's clock: when a silent claim may be taken over
    planned_at: datetime
    msgid: str = ""
    failed: int = 0  # add_msg_template's fail_list
    confirmed: bool = False
    delivered: int = 0
    not_delivered: int = 0
    final: bool = False  # nothing more will change (all sent, or past the follow-up window)
    reminders: list[datetime] = Field(default_factory=list)
    cancel: CancelResult | None = None
