"""Referral codes, the invite state machine, reward tiers and anti-fraud reasons."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from siyu.domain.ids import DocId
from siyu.domain.model import Model

# Crockford's base 32: no I, L, O or U, so a code read aloud or retyped stays unambiguous.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
CODE_BODY = 8  # 40 random bits
SHANGHAI = ZoneInfo("Asia/Shanghai")


_PRIME = 37  # > 32 and > the code length: every single typo and adjacent swap shows


def _weighted(code: str) -> int:
    return sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(code)) % _PRIME


def _check_char(body: str) -> str | None:
    """The character that makes the weighted sum ≡ 0 (mod 37), if it is one of the 32."""
    n = len(body) + 1
    value = (-_weighted(body) * pow(n, -1, _PRIME)) % _PRIME
    return ALPHABET[value] if value < len(ALPHABET) else None


def new_code() -> str:
    """8 random characters and a check character (bodies whose check would be 32–36 are
    drawn again)."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_BODY))
        check = _check_char(body)
        if check is not None:
            return body + check


def normalize(code: str) -> str:
    """What a customer may type: lower case, spaces, hyphens, O for 0, I or L for 1."""
    return code.upper().replace("-", "").replace(" ", "").translate(_CONFUSABLE)


def is_valid(code: str) -> bool:
    """Well formed with a matching check character (says nothing about who owns it)."""
    if len(code) != CODE_BODY + 1 or any(c not in ALPHABET for c in code):
        return False
    return _weighted(code) == 0


class Tier(Model):
    invites: int = Field(gt=0, description="successful invites that reach this tier")
    points: int = Field(gt=0)


DEFAULT_TIERS = [
    Tier(invites=1, points=50),
    Tier(invites=3, points=200),
    Tier(invites=5, points=500),
    Tier(invites=10, points=1500),
]


def check_tiers(tiers: list[Tier]) -> list[Tier]:
    thresholds = [t.invites for t in tiers]
    if not tiers or thresholds != sorted(set(thresholds)):
        raise ValueError("tiers must be non-empty with strictly increasing `invites`")
    return tiers


def tier_at(count: int, tiers: list[Tier]) -> Tier | None:
    """The tier that the `count`-th successful invite reaches exactly, if any."""
    return next((t for t in tiers if t.invites == count), None)


def tiers_reached(count: int, tiers: list[Tier]) -> list[Tier]:
    return [t for t in tiers if t.invites <= count]


def next_tier(count: int, tiers: list[Tier]) -> Tier | None:
    return next((t for t in tiers if t.invites > count), None)


def referral_day(opened_at: datetime) -> str:
    """The bank's calendar day of the opening: the daily cap is per Asia/Shanghai day."""
    return opened_at.astimezone(SHANGHAI).date().isoformat()


class InviteStatus(StrEnum):
    PENDING = "pending"  # reserved a place in the referrer's day; being credited
    CREDITED = "credited"
    REJECTED = "rejected"


class RejectReason(StrEnum):
    INVALID_CODE = "invalid_referral_code"  # malformed or the check character is wrong
    UNKNOWN_CODE = "unknown_referral_code"
    SELF = "self_referral"
    ALREADY_CARDHOLDER = "referee_already_held_a_card"
    ALREADY_INVITED = "referee_already_invited"  # one invite per referee, ever
    SHARED_DEVICE = "device_shared_by_too_many_referees"
    SHARED_PHONE = "phone_shared_by_too_many_referees"
    DAILY_LIMIT = "referrer_daily_limit"


_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


class CardOpened(Model):
    """A card opened at the bank, possibly with a friend's referral code."""

    event_id: DocId = Field(pattern=_ID)
    bank_customer_id: DocId = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    referral_code: str | None = Field(None, max_length=32)
    opened_at: datetime
    device_hash: str | None = Field(None, pattern=r"^[A-Za-z0-9]{16,128}$")
    phone_hash: str | None = Field(None, pattern=r"^[A-Za-z0-9]{16,128}$")

    @field_validator("opened_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone offset")
        return value


def keyed(key: bytes, value: str | None) -> str | None:
    """A device or phone hash as siyu keeps it: HMAC-SHA256 with siyu's own key, so a leaked
    database cannot be reversed by hashing every phone number (the bank's plain hash could)."""
    if not value:
        return None
    return hmac.new(key, value.lower().encode(), hashlib.sha256).hexdigest()


class Invite(Model):
    """`invites/{referee}`: the referee's one referral, whatever became of it."""

    referee: str
    referrer: str = ""
    code: str = ""
    event_id: str
    status: InviteStatus
    reason: RejectReason | None = None
    day: str
    day_ordinal: int | None = None  # n-th invite reserved for the referrer that day
    invite_ordinal: int | None = None  # n-th credited invite of the referrer, ever
    device_hash: str | None = None
    phone_hash: str | None = None
    created_at: datetime
    updated_at: datetime


class InviteAttempt(Model):
    """A later referral of an already-invited referee: kept, with its reason, never credited."""

    event_id: str
    referee: str
    code: str
    reason: RejectReason
    at: datetime


class Reward(Model):
    """`rewards/{referrer}-t{invites}`: one document per (referrer, tier), created once."""

    id: str
    referrer: str
    tier: int  # the tier's invite threshold
    points: int
    granted_at: datetime
    published_at: datetime | None = None

    @staticmethod
    def id_for(referrer: str, tier: Tier) -> str:
        return f"{referrer}-t{tier.invites}"


class RewardGranted(Model):
    """The message on `reward-granted` for the bank's fulfilment system (dedupe by reward_id)."""

    reward_id: str
    bank_customer_id: str
    tier: int
    points: int
    granted_at: datetime


class ReferrerView(Model):
    successful_invites: int
    rewards: list[dict[str, object]]
    next_tier: Tier | None


class ReferralCodeRequest(Model):
    """POST /ops/referral-codes."""

    bank_customer_id: DocId = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class ReferralCode(Model):
    bank_customer_id: str
    code: str
