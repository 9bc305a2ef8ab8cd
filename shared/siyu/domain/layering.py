"""Lifecycle stage (new → first purchase → repeat → VIP) and the eight RFM value segments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, PlainSerializer

from siyu.domain.model import Model
from siyu.domain.tags import TagRef

STAGE_GROUP = "生命周期"
SEGMENT_GROUP = "RFM价值分层"


class Stage(StrEnum):
    NEW = "new"
    FIRST_PURCHASE = "first_purchase"
    REPEAT = "repeat"
    VIP = "vip"


STAGE_NAMES = {
    Stage.NEW: "新客",
    Stage.FIRST_PURCHASE: "首购",
    Stage.REPEAT: "复购",
    Stage.VIP: "VIP",
}

# (recent, frequent, high value) → the classic segment names.
SEGMENTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}


class LayeringConfig(Model):
    """Thresholds, as configuration (SIYU_LAYERING as JSON)."""

    repeat_purchases: int = Field(2, ge=2)
    vip_purchases: int = Field(10, ge=2)
    vip_amount: float = Field(50_000, gt=0)
    recent_days: int = Field(30, gt=0, description="R: bought within this many days")
    frequent_purchases: int = Field(3, gt=0, description="F: at least this many purchases")
    high_amount: float = Field(5_000, gt=0, description="M: spent at least this much")


# Money is exact: a Decimal, stored and sent as its text ("99999999999999.99"), because a
# float loses cents beyond 2**53 and Firestore has no decimal type.
Money = Annotated[Decimal, PlainSerializer(str, return_type=str)]


class Aggregates(Model):
    purchase_count: int = 0
    total_amount: Money = Decimal(0)
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    products: list[str] = Field(default_factory=list)


def stage_of(agg: Aggregates, cfg: LayeringConfig) -> Stage:
    if agg.purchase_count >= cfg.vip_purchases or agg.total_amount >= cfg.vip_amount:
        return Stage.VIP
    if agg.purchase_count >= cfg.repeat_purchases:
        return Stage.REPEAT
    if agg.purchase_count >= 1:
        return Stage.FIRST_PURCHASE
    return Stage.NEW


def segment_of(agg: Aggregates, now: datetime, cfg: LayeringConfig) -> str | None:
    """None until the first purchase: RFM says nothing about a customer who never bought."""
    if agg.purchase_count == 0 or agg.last_purchase_at is None:
        return None
    recent = (now - agg.last_purchase_at).days <= cfg.recent_days
    frequent = agg.purchase_count >= cfg.frequent_purchases
    valuable = agg.total_amount >= cfg.high_amount
    return SEGMENTS[(recent, frequent, valuable)]


def layer_tags(stage: Stage, segment: str | None) -> list[TagRef]:
    tags = [TagRef(group=STAGE_GROUP, name=STAGE_NAMES[stage])]
    if segment:
        tags.append(TagRef(group=SEGMENT_GROUP, name=segment))
    return tags
