"""Campaign planning with in-memory ports: compliance, the one-a-day cap across campaigns,
batching at WeCom's limits, exactly one run per occurrence and one task per batch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from siyu.domain.campaigns import (
    MAX_CUSTOMERS_PER_CALL,
    MAX_GROUPS_PER_CALL,
    BatchRecord,
    CampaignBatch,
    CampaignSpec,
    Target,
    cut_batches,
)
from siyu.domain.compliance import DEFAULT_BANNED, NotCompliant
from siyu.domain.errors import TransientError
from siyu.services.ticks import Tick
from tests.fakes import (
    FakeClock,
    FakeCloud,
)

# 2026-11-25 is a Wednesday; 10:02 in Shanghai.
NOW = datetime(2026, 11, 25, 2, 2, tzinfo=UTC)


def spec(**overrides: Any) -> CampaignSpec:
    base: dict[str, Any] = {
        "name": "周三福利",
        "schedule": {"kind": "weekly", "weekdays": [3], "at": "10:00"},
        "active_from": "2026-11-01",
        "priority": 50,
        "audience": {"kind": "customers", "stages": ["repeat"]},
        "content": {"text": "{date}{weekday}，{campaign}：到店立减10元"},
    }
    return CampaignSpec.model_validate(base | overrides)


class World:
    """The production wiring (siyu.bootstrap) on fakes."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        c = self.cloud = FakeCloud(clock=clock or FakeClock(NOW))
        self.clock, self.campaigns, self.runs, self.audience = (
            c.clock,
            c.campaigns,
            c.runs,
            c.audience,
        )
        self.caps, self.records, self.wecom, self.ops_tasks = (
            c.caps,
            c.batches,
            c.wecom,
            c.ops_tasks,
        )
        self.years = c.years
        root = c.root(
            calendar_refresh_s=0,
            campaign_follow_days=3,
            campaign_remind_every_min=120,
            campaign_lookback_min=30,
            campaign_batch_stale_s=60,
            campaign_banned_words=list(DEFAULT_BANNED),
            tick_allow_as_of=False,
        )
        self.published = c.topic(root.settings.topic_campaign_batches)
        self.calendars, self.book = root.calendar(), root.campaign_admin()
        self.planner, self.sender = root.campaign_planner(), root.batch_sender()

    def customers(self, n: int, staff: int, tags: set[str]) -> None:
        self.audience.customers_by_tag += [
            (Target(id=f"wm{i}", owner=f"staff{i % staff}"), tags) for i in range(n)
        ]

    def batches(self) -> list[CampaignBatch]:
        return [m for m, _ in self.published.sent]

    def deliver_all(self) -> None:
        for batch in self.batches():
            self.sender.send(batch)


REPEAT = {"生命周期/复购"}


def test_copy_with_a_banned_claim_is_refused_when_saved_naming_the_words() -> None:
    w = World()
    bad = spec(content={"text": "本产品保本 稳 赚，零风险！"})
    with pytest.raises(NotCompliant) as refused:
        w.book.put("c1", bad)
    assert refused.value.field == "content.text" and refused.value.words == [
        "保本",
        "稳赚",
        "零风险",
    ]
    link = {"msgtype": "link", "link": {"title": "最高收益理财", "url": "https://bank.example/x"}}
    with pytest.raises(NotCompliant, match="最高收益"):
        w.book.put("c1", spec(content={"text": "看看", "attachments": [link]}))
    with pytest.raises(NotCompliant, match="4000"):
        w.book.put("c1", spec(content={"text": "优惠" * 1_000}))  # 6,000 bytes
    assert w.campaigns.docs == {}


def test_content_is_checked_for_variables_and_attachments() -> None:
    with pytest.raises(ValidationError, match="unknown variables"):
        spec(content={"text": "您好{name}"})
    image = {"msgtype": "image", "image": {"pic_url": "https://img.example/a.png"}}
    with pytest.raises(ValidationError, match="at most 9"):
        spec(content={"text": "t", "attachments": [image] * 10})
    with pytest.raises(ValidationError, match="carries exactly"):
        spec(content={"text": "t", "attachments": [{"msgtype": "link", "image": image["image"]}]})
    with pytest.raises(ValidationError, match="birthday campaign"):
        spec(schedule={"kind": "birthday", "at": "09:00"}, audience={"kind": "groups"})


def test_copy_that_became_non_compliant_is_stopped_before_fan_out() -> None:
    w = World()
    w.customers(3, 1, REPEAT)
    w.book.put("c1", spec())
    w.book._banned.append("立减")  # the list changed after the campaign was saved
    w.planner._banned.append("立减")
    w.planner.tick(Tick())
    [run] = w.runs.docs.values()
    assert run.status == "rejected" and "立减" in run.reason and w.batches() == []


def test_a_tick_delivered_twice_makes_one_run() -> None:
    w = World()
    w.customers(25, 5, REPEAT)
    w.book.put("c1", spec())
    assert w.planner.tick(Tick())["planned"] == 1
    assert w.planner.tick(Tick())["planned"] == 0
    [run] = w.runs.docs.values()
    assert run.id == "c1@2026-11-25" and (run.audience, run.batches) == (25, 5)
    assert sorted(len(b.targets) for b in w.batches()) == [5] * 5
    assert w.batches()[0].text == "11月25日周三，周三福利：到店立减10元"


def test_a_late_tick_still_plans_within_the_lookback_but_not_after() -> None:
    w = World()
    w.customers(1, 1, REPEAT)
    w.book.put("c1", spec())
    w.clock.advance(40 * 60)  # 10:42: the 10:00 occurrence is older than 30 minutes
    assert w.planner.tick(Tick())["due"] == 0


def test_the_higher_priority_campaign_wins_the_day_and_the_loser_is_recorded() -> None:
    w = World()
    w.customers(10, 2, REPEAT)
    w.book.put("low", spec(priority=10))
    w.book.put("high", spec(priority=90, name="会员日"))
    w.planner.tick(Tick())
    high, low = w.runs.docs["high@2026-11-25"], w.runs.docs["low@2026-11-25"]
    assert (high.audience, high.capped) == (10, 0)
    assert (low.audience, low.capped, low.batches) == (10, 10, 0)
    assert low.capped_by == {"high@2026-11-25": 10}
    # A third campaign later the same day finds them all taken, too.
    w.book.put("late", spec(schedule={"kind": "daily", "at": "12:00"}))
    w.clock.advance(2 * 3600)
    w.planner.tick(Tick())
    assert w.runs.docs["late@2026-11-25"].capped == 10
    # The next day they can receive again.
    w.clock.advance(24 * 3600)
    w.planner.tick(Tick())
    assert w.runs.docs["late@2026-11-26"].capped == 0


def test_batches_are_cut_per_staff_member_at_wecom_limits() -> None:
    targets = [Target(id=f"wm{i}", owner="a" if i < 25_000 else "b") for i in range(25_001)]
    cut = cut_batches(targets, "single")
    assert [(s, len(ids)) for s, ids in cut] == [
        ("a", 10_000),
        ("a", 10_000),
        ("a", 5_000),
        ("b", 1),
    ]
    groups = [Target(id=f"wr{i}", owner="a") for i in range(4_001)]
    assert [len(ids) for _, ids in cut_batches(groups, "group")] == [2_000, 2_000, 1]
    too_many = ["x"] * (MAX_GROUPS_PER_CALL + 1)
    with pytest.raises(ValidationError, match="at most 2000"):
        CampaignBatch(
            id="b",
            run_id="r",
            campaign_id="c",
            sender="a",
            chat_type="group",
            targets=too_many,
            text="t",
            planned_at=NOW,
        )
    CampaignBatch(
        id="b",
        run_id="r",
        campaign_id="c",
        sender="a",
        chat_type="single",
        targets=["x"] * MAX_CUSTOMERS_PER_CALL,
        text="t",
        planned_at=NOW,
    )


def test_a_redelivered_batch_makes_one_wecom_task() -> None:
    w = World()
    w.customers(4, 2, REPEAT)
    w.book.put("c1", spec())
    w.planner.tick(Tick())
    batch = w.batches()[0]
    first = w.sender.send(batch)
    assert w.sender.send(batch) == first
    assert w.wecom.calls == 1


def test_a_batch_in_flight_elsewhere_is_retried_later_then_taken_over() -> None:
    w = World()
    w.customers(2, 1, REPEAT)
    w.book.put("c1", spec())
    w.planner.tick(Tick())
    [batch] = w.batches()
    # Another delivery claimed it and has not answered yet.
    w.records.claim(
        BatchRecord(
            id=batch.id,
            run_id=batch.run_id,
            sender=batch.sender,
            size=2,
            claimed_at=w.clock.now(),
            planned_at=batch.planned_at,
        )
    )
    with pytest.raises(TransientError):
        w.sender.send(batch)
    w.clock.advance(61)
    assert w.sender.send(batch) and w.wecom.calls == 1


def test_results_are_followed_reminders_capped_and_runs_report_them() -> None:
    w = World()
    w.customers(6, 2, REPEAT)
    w.book.put("c1", spec())
    w.planner.tick(Tick())
    w.deliver_all()
    first_msg = next(iter(w.wecom.tasks))
    targets = w.wecom.tasks[first_msg]["targets"]
    assert len(targets) == 3
    # 93338: only status 1 is delivered; 2 is "not a contact", 3 "already had one today".
    w.wecom.confirm(first_msg, failed={targets[0]: 2})
    for _hour in range(30):  # a day and a bit of ticks, one an hour
        w.clock.advance(3600)
        w.planner.tick(Tick())
    [report] = w.book.runs("c1")
    assert (report.tasks_created, report.confirmed, report.delivered) == (2, 1, 2)
    # The unconfirmed task was reminded 2 h apart, never more than 3 times in 24 h:
    # at +2, +4, +6 h, then +26, +28, +30 h.
    unconfirmed = [m for m in w.wecom.tasks if m != first_msg][0]
    assert w.wecom.reminded.count(unconfirmed) == 6
    assert first_msg not in w.wecom.reminded


def test_a_birthday_campaign_reaches_that_days_birthdays() -> None:
    w = World()
    w.audience.birthdays["11-25"] = [Target(id="wm_bday", owner="staff0")]
    w.audience.birthdays["11-26"] = [Target(id="wm_tomorrow", owner="staff0")]
    w.book.put(
        "bday", spec(schedule={"kind": "birthday", "at": "10:00"}, audience={"kind": "customers"})
    )
    w.planner.tick(Tick())
    [batch] = w.batches()
    assert batch.targets == ["wm_bday"]


def test_a_holiday_campaign_in_a_year_without_a_calendar_raises_an_ops_task() -> None:
    w = World(clock=FakeClock(datetime(2027, 1, 30, 1, 0, tzinfo=UTC)))
    w.book.put(
        "spring", spec(schedule={"kind": "holiday", "holidays": ["spring_festival"], "at": "09:00"})
    )
    w.planner.tick(Tick())
    assert w.runs.docs == {} and list(w.ops_tasks.docs) == ["calendar_missing-2027"]
    preview = w.book.preview("spring")
    assert preview.next_occurrence is None and "2027" in preview.note


def test_preview_shows_the_audience_and_a_rendered_sample_without_sending() -> None:
    w = World(clock=FakeClock(datetime(2026, 9, 20, 1, 0, tzinfo=UTC)))
    w.audience.group_targets = [Target(id="wr1", owner="a"), Target(id="wr2", owner="b")]
    w.book.put(
        "moon",
        spec(
            schedule={
                "kind": "holiday",
                "holidays": ["mid_autumn_festival"],
                "on": "eve",
                "at": "18:00",
            },
            audience={"kind": "groups", "cities": ["上海"]},
            content={"text": "{holiday}前夜，{campaign}送月饼券"},
            active_from="2026-09-01",
        ),
    )
    preview = w.book.preview("moon")
    assert preview.next_occurrence and preview.next_occurrence.key == "2026-09-24"
    assert (preview.audience, preview.by_sender, preview.batches) == (2, {"a": 1, "b": 1}, 2)
    assert preview.sample == "中秋节前夜，周三福利送月饼券"
    assert w.batches() == [] and w.runs.docs == {}
