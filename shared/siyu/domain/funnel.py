"""The funnel: milestones a customer passes, each recorded once with the channel, staff member
and city that brought them, and counted per day and value of each dimension in tallies."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import ConfigDict, Field, computed_field, model_validator

from siyu.domain.campaigns import SHANGHAI
from siyu.domain.model import Model


class Milestone(StrEnum):
    ADDED = "added"  # a new WeCom relation
    WELCOMED = "welcomed"  # its welcome message was sent
    JOINED_GROUP = "joined_group"  # joined a benefit group
    FIRST_PURCHASE = "first_purchase"
    REPEAT = "repeat"  # a second purchase
    LOST = "lost"  # deleted the staff member
    REFERRAL_CREDITED = "referral_credited"  # a friend opened a card with their code
    DELETED = "deleted"  # the staff member deleted the customer (not counted as lost)


K = TypeVar("K")
Dimension = Literal["channel", "staff", "city", "branch"]
DIMENSIONS: tuple[Dimension, ...] = ("channel", "staff", "city", "branch")
MAX_DAYS = 366
UNASSIGNED = "未分配"


class Dims(Model):
    channel: str = "无渠道"
    staff: str = "—"
    city: str = "未知"
    branch: str = UNASSIGNED  # the channel's branch, else the staff member's


class MilestoneRecord(Dims):
    id: str
    milestone: Milestone
    at: datetime
    person: str = ""  # whose milestone (external_userid or bank customer id): erasure finds it


def record(
    milestone: Milestone, subject: str, at: datetime, dims: Dims, person: str
) -> MilestoneRecord:
    """The id comes from the subject, so the same milestone is recorded once."""
    key = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return MilestoneRecord(
        id=f"{milestone}-{key}", milestone=milestone, at=at, person=person, **dict(dims)
    )


# Firestore sustains about one write a second to one document: a busy value's day is
# spread over this many tally documents, chosen by the milestone's id, and summed on read.
SHARDS = 4


class Tally(Model):
    """How many of each milestone one value of a dimension had on one Shanghai day (one
    shard of it). Counted as each milestone is recorded, so a report reads days × values
    small documents instead of scanning milestones; erasing a person keeps it."""

    day: date
    by: Dimension
    value: str
    shard: int = Field(ge=0, lt=SHARDS)
    counts: dict[str, int] = {}


def day_of(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def tallies_of(milestone: MilestoneRecord) -> list[Tally]:
    """The tally each dimension's value of this milestone adds one to."""
    shard = int(milestone.id[-8:], 16) % SHARDS
    return [
        Tally(
            day=day_of(milestone.at),
            by=by,
            value=str(getattr(milestone, by)),
            shard=shard,
            counts={milestone.milestone.value: 1},
        )
        for by in DIMENSIONS
    ]


def tally_id(tally: Tally) -> str:
    value = hashlib.sha256(tally.value.encode()).hexdigest()[:24]
    return f"{tally.day.isoformat()}-{tally.by}-{value}-{tally.shard}"


def recount(milestones: Iterable[MilestoneRecord]) -> list[Tally]:
    """The tallies these milestones make, from nothing: for days recorded before tallies."""
    return merged(one for milestone in milestones for one in tallies_of(milestone))


def merged(tallies: Iterable[Tally]) -> list[Tally]:
    """Tallies of the same document added into one."""
    found: dict[str, Tally] = {}
    for one in tallies:
        tally = found.setdefault(tally_id(one), one.model_copy(update={"counts": {}}))
        for name, n in one.counts.items():
            tally.counts[name] = tally.counts.get(name, 0) + n
    return list(found.values())


def summed(tallies: Iterable[Tally], key: Callable[[Tally], K]) -> dict[K, dict[str, int]]:
    """Counts of each milestone per key (a value, a day), every shard added up."""
    out: dict[K, dict[str, int]] = {}
    for tally in tallies:
        counts = out.setdefault(key(tally), {m.value: 0 for m in Milestone})
        for name, n in tally.counts.items():
            if name in counts:
                counts[name] += n
    return out


EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


class FunnelQuery(Model):
    """GET /ops/reports/funnel?from=YYYY-MM-DD&to=YYYY-MM-DD&by=channel|staff|city|branch."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    # siyu's records are of this century: years 1 and 9999 are not windows Firestore can
    # hold (a Shanghai midnight of 0001-01-01 is before its first timestamp).
    from_: date = Field(alias="from", ge=EARLIEST, le=LATEST)
    to: date = Field(ge=EARLIEST, le=LATEST)
    by: Dimension
    format: Literal["json", "csv"] = "json"

    @model_validator(mode="after")
    def _span(self) -> FunnelQuery:
        if self.to < self.from_:
            raise ValueError("`to` is before `from`")
        if (self.to - self.from_).days >= MAX_DAYS:
            raise ValueError(f"at most {MAX_DAYS} days")
        return self


def window(first: date, last: date) -> tuple[datetime, datetime]:
    """Whole days in Asia/Shanghai: [first 00:00, last + 1 day 00:00)."""
    start = datetime.combine(first, time(0), SHANGHAI)
    return start, datetime.combine(last + timedelta(days=1), time(0), SHANGHAI)


# The steps a customer takes in order; a row's conversion is each step's share of the last.
STEPS: tuple[tuple[Milestone, Milestone], ...] = (
    (Milestone.ADDED, Milestone.WELCOMED),
    (Milestone.WELCOMED, Milestone.JOINED_GROUP),
    (Milestone.JOINED_GROUP, Milestone.FIRST_PURCHASE),
    (Milestone.FIRST_PURCHASE, Milestone.REPEAT),
)


class FunnelRow(Model):
    value: str
    counts: dict[str, int]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def conversion(self) -> dict[str, float | None]:
        """ "welcomed/added": 0.5 … between consecutive milestones; None with no one before."""
        rates: dict[str, float | None] = {}
        for before, after in STEPS:
            base = self.counts.get(before.value, 0)
            rate = self.counts.get(after.value, 0) / base if base else None
            rates[f"{after.value}/{before.value}"] = None if rate is None else round(rate, 4)
        return rates


class FunnelReport(Model):
    """The JSON answer: the window asked for and one row per value of the dimension."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    by: Dimension
    rows: list[FunnelRow]


MAX_TREND_DAYS = 92


class TrendQuery(Model):
    """GET /ops/reports/funnel/trend?from=YYYY-MM-DD&to=YYYY-MM-DD: each milestone per day."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    from_: date = Field(alias="from", ge=EARLIEST, le=LATEST)
    to: date = Field(ge=EARLIEST, le=LATEST)

    @model_validator(mode="after")
    def _span(self) -> TrendQuery:
        if self.to < self.from_:
            raise ValueError("`to` is before `from`")
        if (self.to - self.from_).days >= MAX_TREND_DAYS:
            raise ValueError(f"at most {MAX_TREND_DAYS} days")
        return self

    def days(self) -> list[tuple[date, datetime, datetime]]:
        """Each Shanghai day of the window with its [00:00, next 00:00)."""
        count = (self.to - self.from_).days + 1
        days = [self.from_ + timedelta(days=n) for n in range(count)]
        return [
            (
                d,
                datetime.combine(d, time(0), SHANGHAI),
                datetime.combine(d + timedelta(days=1), time(0), SHANGHAI),
            )
            for d in days
        ]


class FunnelTrend(Model):
    """One count per day and milestone, in the order of `days`."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    days: list[date]
    series: dict[str, list[int]]


def to_csv(by: str, rows: list[FunnelRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, *[m.value for m in Milestone]])
    for row in rows:
        writer.writerow([row.value, *[row.counts.get(m.value, 0) for m in Milestone]])
    return out.getvalue()


def totals(rows: list[FunnelRow]) -> FunnelRow:
    return FunnelRow(
        value="合计",
        counts={m.value: sum(r.counts.get(m.value, 0) for r in rows) for m in Milestone},
    )
