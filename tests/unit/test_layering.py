"""Lifecycle stages and the eight RFM segments, at and around each threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.domain.layering import SEGMENTS, Aggregates, LayeringConfig, Stage, segment_of, stage_of

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CFG = LayeringConfig()


def agg(count: int, amount: float = 100.0, days_ago: int = 1) -> Aggregates:
    last = NOW - timedelta(days=days_ago) if count else None
    return Aggregates(purchase_count=count, total_amount=amount, last_purchase_at=last)


@pytest.mark.parametrize(
    ("count", "amount", "stage"),
    [
        (0, 0, Stage.NEW),
        (1, 100, Stage.FIRST_PURCHASE),
        (2, 100, Stage.REPEAT),
        (9, 49_999.99, Stage.REPEAT),
        (10, 100, Stage.VIP),
        (1, 50_000, Stage.VIP),
    ],
)
def test_stage_thresholds(count: int, amount: float, stage: Stage) -> None:
    assert stage_of(agg(count, amount), CFG) is stage


def test_stage_thresholds_are_configuration() -> None:
    strict = LayeringConfig(repeat_purchases=3, vip_purchases=5, vip_amount=1_000)
    assert stage_of(agg(2), strict) is Stage.FIRST_PURCHASE
    assert stage_of(agg(5), strict) is Stage.VIP
    assert stage_of(agg(1, 1_000), strict) is Stage.VIP


def test_a_customer_who_never_bought_has_no_segment() -> None:
    assert segment_of(agg(0), NOW, CFG) is None


@pytest.mark.parametrize(
    ("days_ago", "count", "amount", "segment"),
    [
        (30, 3, 5_000, "重要价值客户"),
        (30, 2, 5_000, "重要发展客户"),
        (31, 3, 5_000, "重要保持客户"),
        (31, 2, 5_000, "重要挽留客户"),
        (0, 3, 4_999.99, "一般价值客户"),
        (0, 1, 10, "一般发展客户"),
        (90, 8, 100, "一般保持客户"),
        (365, 1, 10, "一般挽留客户"),
    ],
)
def test_the_eight_rfm_segments(days_ago: int, count: int, amount: float, segment: str) -> None:
    assert segment_of(agg(count, amount, days_ago), NOW, CFG) == segment


def test_every_rfm_combination_has_its_own_segment() -> None:
    assert len(SEGMENTS) == 8 and len(set(SEGMENTS.values())) == 8


def test_rfm_thresholds_are_configuration() -> None:
    cfg = LayeringConfig(recent_days=7, frequent_purchases=10, high_amount=100_000)
    assert segment_of(agg(3, 5_000, days_ago=10), NOW, cfg) == "一般挽留客户"
