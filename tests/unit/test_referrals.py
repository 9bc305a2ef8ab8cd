"""Referral codes, tiers and the crediting state machine, with in-memory fakes."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.domain import referrals as ref
from siyu.domain.errors import NotFound, TransientError
from siyu.domain.referrals import CardOpened, InviteStatus, RejectReason
from siyu.services.referrals import ReferralService
from tests.fakes import FakeClock, FakeReferrals, FakeTopic

OPENED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.repo = FakeReferrals()
        self.messages = FakeTopic()
        self.service = ReferralService(
            self.repo,
            self.messages,
            self.clock,
            tiers=ref.DEFAULT_TIERS,
            daily_limit=20,
            referees_per_hash=3,
            stale_after=timedelta(seconds=30),
            identifier_key=b"test-identifier-key",
        )
        self.code = self.service.code_for("alice")

    def open(self, referee: str, code: str | None = None, day: int = 0, **extra: Any) -> None:
        self.service.card_opened(
            CardOpened(
                event_id=extra.pop("event_id", f"ev-{referee}"),
                bank_customer_id=referee,
                referral_code=self.code if code is None else code,
                opened_at=OPENED + timedelta(days=day),
                **extra,
            )
        )

    def status(self, referee: str) -> tuple[InviteStatus, RejectReason | None]:
        invite = self.repo.invites[referee]
        return invite.status, invite.reason


@given(st.integers(0, 10_000))
def test_a_single_typo_or_adjacent_swap_is_caught(seed: int) -> None:
    code = ref.new_code()
    assert ref.is_valid(code) and len(code) == 9
    i = seed % len(code)
    for other in ref.ALPHABET:
        if other != code[i]:
            assert not ref.is_valid(code[:i] + other + code[i + 1 :])
    j = seed % (len(code) - 1)
    if code[j] != code[j + 1]:
        assert not ref.is_valid(code[:j] + code[j + 1] + code[j] + code[j + 2 :])


def test_codes_are_normalized_as_customers_type_them() -> None:
    code = ref.new_code()
    typed = code.lower().replace("0", "o").replace("1", "l")
    assert ref.normalize(f"{typed[:4]}-{typed[4:]}") == code


def test_a_customer_keeps_one_code() -> None:
    w = World()
    assert w.service.code_for("alice") == w.code
    assert w.service.code_for("bob") != w.code


def test_tiers_are_granted_once_each_and_published() -> None:
    w = World()
    for i in range(12):
        w.open(f"friend{i}", day=i // 5)
    view = w.service.view("alice")
    assert view.successful_invites == 12
    assert [r["tier"] for r in view.rewards] == [1, 3, 5, 10]
    assert [m.points for m, _ in w.messages.sent] == [50, 200, 500, 1500]
    assert view.next_tier is None


def test_a_duplicate_event_changes_nothing() -> None:
    w = World()
    w.open("bob")
    w.open("bob")
    assert w.repo.counts["alice"] == 1 and len(w.messages.sent) == 1


@pytest.mark.parametrize(
    ("setup", "referee", "kwargs", "reason"),
    [
        (None, "alice", {}, RejectReason.SELF),
        (None, "bob", {"code": "ZZZZZZZZZ"}, RejectReason.INVALID_CODE),
        (None, "bob", {"code": "0000000000"}, RejectReason.INVALID_CODE),
        ("card", "bob", {}, RejectReason.ALREADY_CARDHOLDER),
    ],
)
def test_each_rejection_is_kept_with_its_reason(setup, referee, kwargs, reason) -> None:
    w = World()
    if setup == "card":
        w.open("bob", code="", event_id="first-card")
    w.open(referee, **kwargs)
    assert w.status(referee) == (InviteStatus.REJECTED, reason)
    assert w.repo.counts.get("alice", 0) == 0


def test_an_unknown_but_well_formed_code_is_rejected() -> None:
    w = World()
    unknown = next(c for c in iter(ref.new_code, None) if c not in w.repo.codes)
    w.open("bob", code=unknown)
    assert w.status("bob") == (InviteStatus.REJECTED, RejectReason.UNKNOWN_CODE)


@pytest.mark.parametrize(
    ("field", "reason"),
    [("device_hash", RejectReason.SHARED_DEVICE), ("phone_hash", RejectReason.SHARED_PHONE)],
)
def test_a_hash_shared_by_a_fourth_referee_is_rejected(field, reason) -> None:
    w = World()
    for i in range(4):
        w.open(f"f{i}", None, 0, **{field: "a" * 32})
    assert [w.status(f"f{i}")[0] for i in range(3)] == [InviteStatus.CREDITED] * 3
    assert w.status("f3") == (InviteStatus.REJECTED, reason)


def test_only_siyus_keyed_hash_of_a_device_or_phone_is_kept() -> None:
    w = World()
    plain = hashlib.sha256(b"13800138000").hexdigest()  # what anyone can compute
    w.open("f1", None, 0, phone_hash=plain, device_hash=plain.upper())
    stored = w.repo.invites["f1"]
    keyed = hmac.new(b"test-identifier-key", plain.encode(), hashlib.sha256).hexdigest()
    assert stored.phone_hash == stored.device_hash == keyed  # case-insensitive, never plain
    assert not any(plain in slot for slot in w.repo.slots)
    assert any(keyed in slot for slot in w.repo.slots)


def test_more_than_20_a_day_is_rejected_and_the_next_day_counts_again() -> None:
    w = World()
    for i in range(22):
        w.open(f"f{i}")
    w.open("tomorrow", day=1)
    assert w.status("f20") == (InviteStatus.REJECTED, RejectReason.DAILY_LIMIT)
    assert w.status("f21") == (InviteStatus.REJECTED, RejectReason.DAILY_LIMIT)
    assert w.status("tomorrow")[0] is InviteStatus.CREDITED
    assert w.repo.counts["alice"] == 21


def test_a_second_referral_of_the_same_referee_is_kept_as_an_attempt() -> None:
    w = World()
    w.open("bob")
    other = w.service.code_for("carol")
    w.open("bob", code=other, event_id="ev-again")
    assert w.repo.attempts["ev-again"].reason is RejectReason.ALREADY_INVITED
    assert w.repo.invites["bob"].referrer == "alice"


def test_a_crash_after_the_credit_is_finished_by_the_redelivery() -> None:
    w = World()
    w.repo.crash_after_credit = True
    with pytest.raises(RuntimeError):
        w.open("bob")
    assert w.repo.rewards_by_id == {}
    w.open("bob")  # Pub/Sub redelivers
    assert [r.tier for r in w.repo.rewards("alice")] == [1]
    assert len(w.messages.sent) == 1


def test_a_pending_invite_waits_for_its_crediter_then_is_taken_over() -> None:
    w = World()
    invite = ref.Invite(
        referee="bob",
        referrer="alice",
        code=w.code,
        event_id="ev-bob",
        status=InviteStatus.PENDING,
        day="2026-11-23",
        created_at=w.clock.now(),
        updated_at=w.clock.now(),
    )
    w.repo.reserve(invite)  # reserved by a delivery that then died, before crediting
    with pytest.raises(TransientError):
        w.open("bob")
    w.clock.advance(31)
    w.open("bob")
    assert w.status("bob")[0] is InviteStatus.CREDITED
    assert w.repo.days["alice-2026-11-23"] == 2  # the dead delivery's place stays used


def test_the_day_is_the_banks_day_in_shanghai() -> None:
    late_utc = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 01:00 on the 24th in Shanghai
    assert ref.referral_day(late_utc) == "2026-11-24"


def test_tiers_must_increase() -> None:
    with pytest.raises(ValueError):
        ref.check_tiers([ref.Tier(invites=3, points=1), ref.Tier(invites=1, points=1)])


def test_an_invite_is_read_through_the_service_and_an_unknown_one_is_not_found() -> None:
    w = World()
    code = w.service.code_for("alice")
    w.open("bob", code=code)
    assert w.service.invite("bob").referrer == "alice"
    with pytest.raises(NotFound, match="no referral for carol"):
        w.service.invite("carol")
