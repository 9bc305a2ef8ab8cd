"""The referral repository on the emulator: create-once, conditional batches, ordinals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from siyu import bootstrap
from siyu.domain.referrals import Invite, InviteStatus

AT = datetime(2026, 11, 23, tzinfo=UTC)


def pending(referee: str) -> Invite:
    return Invite(
        referee=referee,
        referrer="alice",
        code="X",
        event_id=f"ev-{referee}",
        status=InviteStatus.PENDING,
        day="2026-11-23",
        created_at=AT,
        updated_at=AT,
    )


def test_reserve_hands_out_distinct_day_places_and_refuses_a_second_reserve(cloud) -> None:
    repo = bootstrap.root().stores().referrals
    with ThreadPoolExecutor(8) as pool:
        places = list(pool.map(lambda i: repo.reserve(pending(f"f{i}")), range(8)))
    assert sorted(p[0] for p in places if p) == list(range(1, 9))
    assert repo.reserve(pending("f0")) is None


def test_credit_counts_once_and_refuses_a_stale_version(cloud) -> None:
    repo = bootstrap.root().stores().referrals
    reserved = repo.reserve(pending("bob"))
    assert reserved is not None
    day_place, version = reserved
    invite = pending("bob").model_copy(update={"day_ordinal": day_place})
    assert repo.credit(invite, version) == 1
    assert repo.credit(invite, version) is None  # the version moved on: no second count
    assert repo.successful_invites("alice") == 1
    stored, _ = repo.get_invite("bob")
    assert stored is not None and stored.status is InviteStatus.CREDITED and stored.day_ordinal == 1


def test_a_hash_admits_at_most_the_limit_of_referees(cloud) -> None:
    repo = bootstrap.root().stores().referrals
    results = [repo.claim_hash("device", "abc123", f"r{i}", 3) for i in range(4)]
    assert results == [True, True, True, False]
    assert repo.claim_hash("device", "abc123", "r1", 3) is True  # a redelivery of r1


def test_a_code_is_created_once_per_customer(cloud) -> None:
    repo = bootstrap.root().stores().referrals
    assert repo.create_code("alice", "AAAAAAAAA") == "AAAAAAAAA"
    assert repo.create_code("alice", "BBBBBBBBB") == "AAAAAAAAA"
    assert repo.owner_of("BBBBBBBBB") is None and repo.owner_of("AAAAAAAAA") == "alice"
