"""Firestore repositories on the emulator: exactly-once markers and the welcome ledger."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from siyu import bootstrap
from siyu.adapters.clock import SystemClock
from siyu.adapters.firestore.store import Dedupe, WelcomeLedger
from siyu.domain import customers as cust
from siyu.domain.bank_customers import BankCustomerLink
from siyu.domain.welcome import WelcomeStatus

AT = datetime(2026, 11, 23, tzinfo=UTC)


def test_update_once_applies_an_event_once(cloud) -> None:
    repo = bootstrap.root().stores().customers

    def change(c):
        return cust.add_relation(c or cust.new_customer("wm1", AT), "zhangsan", "s1", AT)

    assert repo.update_once("k1", "wm1", change) is True
    assert repo.update_once("k1", "wm1", change) is False
    customer = repo.get("wm1")
    assert customer is not None and [r.state for r in customer.relations] == ["s1"]
    assert customer.created_at == AT


def test_dedupe_claim_is_exclusive_under_concurrency(cloud) -> None:
    dedupe = Dedupe(bootstrap.root().db(), SystemClock(), 7)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: dedupe.claim("cb-same"), range(8)))
    assert results.count(True) == 1
    marker = dedupe.get("cb-same")
    assert marker is not None and marker["expire_at"] > marker["created_at"]


def test_welcome_ledger_hand_off(cloud) -> None:
    ledger = WelcomeLedger(bootstrap.root().db(), SystemClock())
    assert ledger.claim("WC", "callback", 3.5).granted
    held = ledger.claim("WC", "worker", 3.5)
    assert (held.granted, held.status, held.owner) == (False, WelcomeStatus.SENDING, "callback")
    ledger.finish("WC", WelcomeStatus.HANDED_OFF)
    assert ledger.claim("WC", "worker", 3.5).granted
    ledger.finish("WC", WelcomeStatus.SENT, latency_ms=12.0)
    assert ledger.claim("WC", "callback", 3.5).status is WelcomeStatus.SENT


def test_bank_customer_writes_are_conditional_on_the_version_read(cloud) -> None:
    from siyu.domain.bank_customers import BankCustomer

    repo = bootstrap.root().stores().bank_customers
    assert repo.get("bc1") == (None, None)
    fresh = BankCustomer(bank_customer_id="bc1")
    assert repo.save_if_unchanged(fresh, None) is True
    assert repo.save_if_unchanged(fresh, None) is False  # someone created it first
    customer, version = repo.get("bc1")
    assert customer is not None
    repo.set_membership(["bc1"], "wr1", member=True)  # another writer
    assert repo.save_if_unchanged(customer, version) is False
    customer, version = repo.get("bc1")
    assert (
        customer is not None
        and customer.groups == ["wr1"]
        and repo.save_if_unchanged(customer, version) is True
    )
    assert repo.in_group("wr1") == ["bc1"]
    repo.link("bc1", BankCustomerLink(external_userid="wm_x", unionid="un_x"), datetime.now(UTC))
    assert repo.find_linked(["wm_x"], []) == ["bc1"] == repo.find_linked([], ["un_x"])


def test_a_card_alert_reads_and_writes_only_its_fields(cloud) -> None:
    from siyu.domain.bank_customers import BankCustomer, KnownProfile, with_invite
    from siyu.domain.card_alerts import IssuedInvite

    repo = bootstrap.root().stores().bank_customers
    assert repo.for_alert("bc2") == (None, None)
    full = BankCustomer(
        bank_customer_id="bc2",
        external_userid="wm_2",
        profile=KnownProfile(age=61, aum_band="100-500万", birthday="03-02"),
        answers={"risk": {"appetite": "稳健"}},
    )
    assert repo.save_if_unchanged(full, None) is True
    seen, version = repo.for_alert("bc2")
    assert seen is not None and seen.profile == KnownProfile() and seen.answers == {}  # not read
    invite = IssuedInvite(
        txn_id="t1",
        group_id="wr1",
        group_name="福利群",
        distance_m=12.5,
        join_url="https://j",
        text="附近福利群",
        reason="nearest_group_with_room",
        issued_at=AT,
    )
    repo.set_membership(["bc9"], "wr1", member=True)  # another document: no conflict
    assert repo.record_invite(with_invite(seen, invite), version) is True
    stored, version = repo.get("bc2")
    assert stored is not None and [i.txn_id for i in stored.invites] == ["t1"]
    assert stored.profile.age == 61 and stored.answers == full.answers  # left as they were
    assert repo.record_invite(with_invite(seen, invite), None) is False  # it exists
    repo.set_membership(["bc2"], "wr1", member=True)  # a writer since `version`
    assert repo.record_invite(with_invite(stored, invite), version) is False


def test_groups_changed_since_returns_only_later_writes(cloud) -> None:
    from siyu.domain.groups import Group

    repo = bootstrap.root().stores().groups
    repo.put(Group(chat_id="a", updated_at=AT))
    everything, mark = repo.changed_since(None)
    assert [g.chat_id for g in everything] == ["a"] and mark is not None
    repo.put(Group(chat_id="b", updated_at=AT))
    later, _ = repo.changed_since(mark)
    assert "b" in [g.chat_id for g in later] and len(later) <= 2


def test_groups_are_listed_by_chat_id_a_page_at_a_time(cloud) -> None:
    from siyu.domain.groups import Group

    repo = bootstrap.root().stores().groups
    now = bootstrap.root().clock.now()
    for n, city in enumerate(["上海", "北京", "上海", "上海", "北京"]):
        repo.put(Group(chat_id=f"wr{n}", name=f"群{n}", city=city, kind="food", updated_at=now))
    assert [g.chat_id for g in repo.listed("上海", "", 2)] == ["wr0", "wr2"]
    assert [g.chat_id for g in repo.listed("上海", "wr2", 2)] == ["wr3"]
    assert [g.chat_id for g in repo.listed("", "wr1", 10)] == ["wr2", "wr3", "wr4"]
