"""The funnel report and trend on the Firestore emulator, by channel, staff and city,
against a fixture counted by hand; milestones recorded twice count once, and the daily
tallies they read are rebuilt from the milestones alike."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

import pytest

from siyu import bootstrap
from siyu.domain.campaigns import SHANGHAI
from siyu.domain.funnel import (
    UNASSIGNED,
    Dims,
    FunnelQuery,
    Milestone,
    TrendQuery,
    tally_id,
    to_csv,
)

M = Milestone

# (milestone, subject, Shanghai time, channel, staff, city)
FIXTURE = [
    (M.ADDED, "c1", "2026-11-02 09:00", "动账提醒", "zhangsan", "上海"),
    (M.ADDED, "c2", "2026-11-02 10:00", "动账提醒", "lisi", "上海"),
    (M.ADDED, "c3", "2026-11-03 11:00", "网点海报", "zhangsan", "深圳"),
    (M.ADDED, "c4", "2026-11-30 23:59", "网点海报", "lisi", "深圳"),
    (M.ADDED, "c5", "2026-12-01 00:00", "网点海报", "lisi", "深圳"),  # after the window
    (M.ADDED, "c6", "2026-10-31 23:59", "动账提醒", "lisi", "上海"),  # before it
    (M.WELCOMED, "c1", "2026-11-02 09:00", "动账提醒", "zhangsan", "上海"),
    (M.WELCOMED, "c3", "2026-11-03 11:00", "网点海报", "zhangsan", "深圳"),
    (M.JOINED_GROUP, "g1|c1", "2026-11-04 12:00", "动账提醒", "zhangsan", "上海"),
    (M.JOINED_GROUP, "g2|c3", "2026-11-05 12:00", "网点海报", "zhangsan", "上海"),  # group city
    (M.FIRST_PURCHASE, "b1", "2026-11-06 12:00", "动账提醒", "zhangsan", "上海"),
    (M.FIRST_PURCHASE, "b3", "2026-11-07 12:00", "网点海报", "zhangsan", "深圳"),
    (M.REPEAT, "b1", "2026-11-20 12:00", "动账提醒", "zhangsan", "上海"),
    (M.LOST, "c2", "2026-11-21 08:00", "动账提醒", "lisi", "上海"),
    (M.REFERRAL_CREDITED, "f1", "2026-11-22 08:00", "动账提醒", "zhangsan", "上海"),
    (M.REFERRAL_CREDITED, "f2", "2026-11-22 09:00", "未关联", "—", "未知"),
]

# Counted by hand from FIXTURE for 1–30 November 2026.
EXPECTED = {
    "channel": {
        "动账提醒": {"added": 2, "welcomed": 1, "joined_group": 1, "first_purchase": 1,
                     "repeat": 1, "lost": 1, "referral_credited": 1, "deleted": 0},
        "网点海报": {"added": 2, "welcomed": 1, "joined_group": 1, "first_purchase": 1,
                     "repeat": 0, "lost": 0, "referral_credited": 0, "deleted": 0},
        "未关联": {"added": 0, "welcomed": 0, "joined_group": 0, "first_purchase": 0,
                   "repeat": 0, "lost": 0, "referral_credited": 1, "deleted": 0},
    },
    "staff": {
        "lisi": {"added": 2, "welcomed": 0, "joined_group": 0, "first_purchase": 0,
                 "repeat": 0, "lost": 1, "referral_credited": 0, "deleted": 0},
        "zhangsan": {"added": 2, "welcomed": 2, "joined_group": 2, "first_purchase": 2,
                     "repeat": 1, "lost": 0, "referral_credited": 1, "deleted": 0},
        "—": {"added": 0, "welcomed": 0, "joined_group": 0, "first_purchase": 0,
              "repeat": 0, "lost": 0, "referral_credited": 1, "deleted": 0},
    },
    "city": {
        "上海": {"added": 2, "welcomed": 1, "joined_group": 2, "first_purchase": 1,
                 "repeat": 1, "lost": 1, "referral_credited": 1, "deleted": 0},
        "深圳": {"added": 2, "welcomed": 1, "joined_group": 0, "first_purchase": 1,
                 "repeat": 0, "lost": 0, "referral_credited": 0, "deleted": 0},
        "未知": {"added": 0, "welcomed": 0, "joined_group": 0, "first_purchase": 0,
                 "repeat": 0, "lost": 0, "referral_credited": 1, "deleted": 0},
    },
}  # fmt: skip


@pytest.fixture
def funnel(cloud):
    book = bootstrap.root().funnel()
    for milestone, subject, at, channel, staff, city in FIXTURE:
        when = datetime.fromisoformat(at).replace(tzinfo=SHANGHAI)
        dims = Dims(channel=channel, staff=staff, city=city)
        assert book.note(milestone, subject, when, dims, subject) is True
        assert book.note(milestone, subject, when, dims, subject) is False  # a redelivery
    return book


@pytest.mark.parametrize("by", ["channel", "staff", "city"])
def test_each_dimension_matches_the_hand_count(funnel, by) -> None:
    query = FunnelQuery.model_validate({"from": "2026-11-01", "to": "2026-11-30", "by": by})
    rows = funnel.report(query)
    *values, total = rows
    assert {r.value: r.counts for r in values} == EXPECTED[by]
    assert total.value == "合计" and total.counts["added"] == 4
    assert total.counts["referral_credited"] == 2


def test_the_window_is_whole_shanghai_days_and_csv_has_the_same_numbers(funnel) -> None:
    one_day = FunnelQuery(from_=date(2026, 11, 2), to=date(2026, 11, 2), by="channel")
    [row, _total] = funnel.report(one_day)
    assert (row.value, row.counts["added"]) == ("动账提醒", 2)
    query = FunnelQuery(from_=date(2026, 11, 1), to=date(2026, 11, 30), by="city")
    text = to_csv("city", funnel.report(query))
    assert (
        text.splitlines()[0]
        == "city,added,welcomed,joined_group,first_purchase,repeat,lost,referral_credited,deleted"
    )
    assert "上海,2,1,2,1,1,1,1,0" in text.splitlines() and text.splitlines()[-1].startswith(
        "合计,4,"
    )


def test_the_trend_adds_up_each_shanghai_day_and_keeps_to_the_branches_asked(funnel) -> None:
    query = TrendQuery.model_validate({"from": "2026-11-01", "to": "2026-11-03"})
    trend = funnel.trend(query)
    assert trend.days == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    assert trend.series["added"] == [0, 2, 1]  # c6 at 23:59 on 31 October is not in it
    assert trend.series["welcomed"] == [0, 1, 1]
    assert funnel.trend(query, [UNASSIGNED]).series == trend.series  # the fixture's branch
    assert set(map(sum, funnel.trend(query, ["sh-elsewhere"]).series.values())) == {0}
    assert set(map(sum, funnel.trend(query, []).series.values())) == {0}


def test_a_milestone_recorded_at_once_by_many_workers_counts_once(cloud) -> None:
    """A redelivered event handled by several instances together: one create wins and only
    its batch adds to the tallies."""
    book = bootstrap.root().funnel()
    at = datetime(2026, 11, 9, 10, 0, tzinfo=SHANGHAI)
    dims = Dims(channel="动账提醒", staff="zhangsan", city="上海", branch="sh")
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda _: book.note(M.ADDED, "race", at, dims, "race"), range(8)))
    assert won.count(True) == 1
    query = FunnelQuery.model_validate({"from": "2026-11-09", "to": "2026-11-09", "by": "branch"})
    [row, _total] = book.report(query)
    assert (row.value, row.counts["added"]) == ("sh", 1)


def test_a_recount_rebuilds_the_tallies_the_milestones_made(funnel) -> None:
    """Tallies lost (or never kept, for days recorded before them) come back from the
    milestones, equal to what recording them counted."""
    store = bootstrap.root().stores().funnel
    first, last = date(2026, 10, 1), date(2026, 12, 31)
    counted = {tally_id(t): t.counts for t in store.tallies("staff", first, last)}
    for snap in bootstrap.root().db().collection("funnel_days").stream():
        snap.reference.delete()
    assert store.tallies("staff", first, last) == []
    assert funnel.recount(first, last) > 0
    assert {tally_id(t): t.counts for t in store.tallies("staff", first, last)} == counted
    query = FunnelQuery.model_validate({"from": "2026-11-01", "to": "2026-11-30", "by": "city"})
    assert {r.value: r.counts for r in funnel.report(query)[:-1]} == EXPECTED["city"]
