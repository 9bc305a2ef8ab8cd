"""Card-alert invites: who gets one, to which group, and the words that carry it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import AwareDatetime, ConfigDict, Field

from siyu.domain.groups import Coordinates, Group
from siyu.domain.ids import DocId
from siyu.domain.model import Model

MAX_TEXT_CHARS = 60

# One template per group kind; {city} and {name} are filled in, shortest fallbacks last.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "food": (
        "{city}美食福利群「{name}」，附近餐饮天天有优惠，扫码入群",
        "美食福利群「{name}」，扫码入群",
    ),
    "shopping": (
        "{city}购物福利群「{name}」，附近商户专享折扣，扫码入群",
        "购物福利群「{name}」，扫码入群",
    ),
    "travel": (
        "{city}出行福利群「{name}」，加油停车享优惠，扫码入群",
        "出行福利群「{name}」，扫码入群",
    ),
}
DEFAULT_TEMPLATES = (
    "{city}持卡人福利群「{name}」，身边优惠不错过，扫码入群",
    "福利群「{name}」，扫码入群",
)


class Reason(StrEnum):
    NEAREST = "nearest_group_with_room"
    CITY = "nearest_in_city"  # nothing within the distance limit; the city's nearest instead
    MEMBER = "already_in_a_benefit_group"
    COOLDOWN = "invited_recently"
    NO_GROUP = "no_group_with_room"
    OPTED_OUT = "marketing_opt_out"  # the customer wants no marketing: the alert carries none


class Merchant(Coordinates):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    mcc: str = Field(pattern=r"^\d{4}$")
    city: str = Field(min_length=1, max_length=32)


class CardAlert(Model):
    """POST /card-alert: one card transaction from the card-alert system."""

    model_config = ConfigDict(extra="forbid")

    txn_id: DocId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    bank_customer_id: DocId = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    amount: Decimal = Field(ge=0, max_digits=16, decimal_places=2, allow_inf_nan=False)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    occurred_at: AwareDatetime  # an offset is required: a bare time is ambiguous
    merchant: Merchant


class Invite(Model):
    group_id: str
    group_name: str
    distance_m: float
    join_url: str
    text: str = Field(max_length=MAX_TEXT_CHARS)


class CardAlertAnswer(Model):
    invite: Invite | None
    reason: Reason


class IssuedInvite(Invite):
    """An invite as the customer's document remembers it: the txn it answered and when."""

    txn_id: str
    reason: Reason
    issued_at: datetime


def invite_text(group: Group) -> str:
    """The first template of the group's kind that fits in 60 characters, name shortened last."""
    templates = TEMPLATES.get(group.kind, DEFAULT_TEMPLATES)
    for template in templates:
        text = template.format(city=group.city, name=group.name)
        if len(text) <= MAX_TEXT_CHARS:
            return text
    shortest = templates[-1]
    room = MAX_TEXT_CHARS - len(shortest.format(city=group.city, name="")) - 1
    return shortest.format(city=group.city, name=group.name[: max(room, 1)] + "…")[:MAX_TEXT_CHARS]
