"""Referral rewards over HTTP on the local stack: /events → biz-events → on_biz_event."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
import httpx
import pytest

from siyu.devstack.bank import BankSystems
from siyu.devstack.registry import dead_letter
from siyu.devstack.stack import StackConfig, local_subscription
from siyu.devstack.waiting import until

from .conftest import handled


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class Bank(BankSystems):
    """The bank's systems; `queued` holds the Pub/Sub message id of every event accepted."""

    queued: list[str]

    def opened(self, referee: str, code: str | None, day: int = 23, **extra: Any) -> int:
        payload = {
            "event_id": extra.pop("event_id", f"ev-{referee}"),
            "bank_customer_id": referee,
            "referral_code": code,
            "opened_at": f"2026-11-{day:02d}T10:00:00+08:00",
            **extra,
        }
        response = self.post("card_opened", payload)
        if response.status_code == 202:
            self.queued.append(response.json()["message_id"])
        return response.status_code


@pytest.fixture
def bank(stack: StackConfig) -> Bank:
    bank = Bank(stack)
    bank.queued = []
    return bank


@pytest.fixture
def pubsub(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> StackConfig:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    return stack


def pull(stack: StackConfig, subscription: str, wanted: int, timeout_s: float = 20) -> list[Any]:
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(stack.project, subscription)
    found: list[Any] = []

    def enough() -> bool:
        r = subscriber.pull(request={"subscription": path, "max_messages": 100}, timeout=5)
        if r.received_messages:
            subscriber.acknowledge(
                request={"subscription": path, "ack_ids": [m.ack_id for m in r.received_messages]}
            )
            found.extend(m.message for m in r.received_messages)
        return len(found) >= wanted

    until(enough, timeout_s=timeout_s)
    return found


def code_for(ops: httpx.Client, customer: str) -> str:
    r = ops.post("/ops/referral-codes", json={"bank_customer_id": customer})
    assert r.status_code == 200, r.text
    return str(r.json()["code"])


def settled(ops: httpx.Client, referrer: str, invites: int, timeout_s: float = 60) -> dict:
    def view() -> dict:
        return dict(ops.get(f"/ops/referrers/{referrer}").json())

    until(lambda: view()["successful_invites"] >= invites, timeout_s=timeout_s)
    return view()


def wait_invite(ops: httpx.Client, referee: str, timeout_s: float = 20) -> dict:
    def decided() -> dict | None:
        r = ops.get(f"/ops/invites/{referee}")
        return dict(r.json()) if r.status_code == 200 and r.json()["status"] != "pending" else None

    invite = until(decided, timeout_s=timeout_s)
    assert invite, f"no decided invite for {referee}"
    return invite


def test_50_concurrent_openings_each_sent_twice_grant_each_tier_once(ops, bank, pubsub) -> None:
    referrer = unique("alice")
    code = code_for(ops, referrer)
    # 50 friends over three days (the daily cap is 20), every event sent twice, all at once.
    sends = [(f"{referrer}_f{i}", 23 + i // 17) for i in range(50)] * 2
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda s: bank.opened(s[0], code, day=s[1]), sends))
    assert statuses == [202] * 100
    view = settled(ops, referrer, 50)
    assert view["successful_invites"] == 50
    assert [(r["tier"], r["points"]) for r in view["rewards"]] == [
        (1, 50),
        (3, 200),
        (5, 500),
        (10, 1500),
    ]
    assert view["next_tier"] is None
    granted = [
        m
        for m in pull(pubsub, local_subscription("reward-granted"), wanted=4)
        if json.loads(m.data)["bank_customer_id"] == referrer
    ]
    # Drained: the worker is done with all 100 events, so every grant they cause is out.
    assert until(lambda: handled(pubsub, *bank.queued), timeout_s=60)
    granted += [
        m
        for m in pull(pubsub, local_subscription("reward-granted"), wanted=1, timeout_s=2)
        if json.loads(m.data)["bank_customer_id"] == referrer
    ]
    assert sorted(json.loads(m.data)["tier"] for m in granted) == [1, 3, 5, 10]


def test_every_fraud_rule_rejects_with_its_reason(ops, bank, pubsub) -> None:
    referrer = unique("r")
    code = code_for(ops, referrer)
    device = uuid.uuid4().hex
    sends = [
        (referrer, code, {}),  # self-referral
        (unique("typo"), code[:-1] + ("0" if code[-1] != "0" else "1"), {}),
        *[(unique("dev"), code, {"device_hash": device}) for _ in range(4)],
    ]
    veteran = unique("veteran")
    assert bank.opened(veteran, None, event_id=f"first-{veteran}") == 202
    # The first card is recorded before the referral arrives.
    assert until(lambda: handled(pubsub, bank.queued[-1]), timeout_s=30)
    sends.append((veteran, code, {}))
    for referee, used, extra in sends:
        assert bank.opened(referee, used, **extra) == 202
    view = settled(ops, referrer, 3)
    reasons = {}
    for referee, _used, _extra in sends:
        invite = wait_invite(ops, referee)
        reasons[referee] = invite["reason"] or invite["status"]
    assert sorted(reasons.values()) == sorted(
        [
            "self_referral",
            "invalid_referral_code",
            "credited",
            "credited",
            "credited",
            "device_shared_by_too_many_referees",
            "referee_already_held_a_card",
        ]
    )
    assert ops.get(f"/ops/referrers/{referrer}").json()["successful_invites"] == 3
    # 20 a day: the 21st on one day is rejected.
    busy = unique("busy")
    busy_code = code_for(ops, busy)
    for i in range(21):
        assert bank.opened(f"{busy}_{i}", busy_code, day=1) == 202
    assert settled(ops, busy, 20)["successful_invites"] == 20
    decided = [wait_invite(ops, f"{busy}_{i}") for i in range(21)]
    assert [d["reason"] for d in decided].count("referrer_daily_limit") == 1
    assert ops.get(f"/ops/referrers/{busy}").json()["successful_invites"] == 20
    assert view["rewards"][0]["tier"] == 1


def test_a_poison_message_on_biz_events_is_dead_lettered(pubsub) -> None:
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(pubsub.project, "biz-events")
    marker = unique("poison")
    publisher.publish(
        topic, json.dumps({"type": "card_opened", "marker": marker}).encode()
    ).result()
    dead = pull(pubsub, f"{dead_letter('biz-events')}-ops", wanted=1)
    assert any(marker in m.data.decode() for m in dead)
