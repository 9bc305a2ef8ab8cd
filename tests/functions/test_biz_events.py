"""biz_events and on_biz_event in-process: signed intake, validation, redelivery, poison."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
import pytest
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent
from functions_framework import create_app

from siyu import bootstrap
from siyu.devstack.registry import FUNCTIONS
from siyu.domain.partner_auth import signed_headers

from ..conftest import PROJECT

KEY_ID, SECRET = "bank", "bank-events-secret-0123456789"


def source(name: str) -> str:
    return str(next(f for f in FUNCTIONS if f.name == name).source)


@pytest.fixture
def topics(cloud, monkeypatch) -> dict[str, str]:
    """This test's own biz-events and reward-granted topics, each with a pull subscription."""
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    names = {}
    for setting, base in (("SIYU_TOPIC_BIZ_EVENTS", "biz"), ("SIYU_TOPIC_REWARD_GRANTED", "rg")):
        name = f"{base}-{uuid.uuid4().hex[:8]}"
        for topic in (name, f"{name}-dlq"):
            publisher.create_topic(name=publisher.topic_path(PROJECT, topic))
            subscriber.create_subscription(
                name=subscriber.subscription_path(PROJECT, f"{topic}-sub"),
                topic=publisher.topic_path(PROJECT, topic),
            )
        monkeypatch.setenv(setting, name)
        names[base] = name
    monkeypatch.setenv("SIYU_PARTNER_KEYS", f"{KEY_ID}:{SECRET}")
    return names


@pytest.fixture
def refused(fakes, monkeypatch):
    """biz_events on fakes: a refusal must leave `fakes.written()` empty."""
    monkeypatch.setenv("SIYU_PARTNER_KEYS", f"{KEY_ID}:{SECRET}")
    fakes.install()
    return fakes


def pull(subscription: str) -> list[Any]:
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(PROJECT, subscription)
    response = subscriber.pull(request={"subscription": path, "max_messages": 50}, timeout=5)
    if response.received_messages:
        subscriber.acknowledge(
            request={
                "subscription": path,
                "ack_ids": [m.ack_id for m in response.received_messages],
            }
        )
    return [m.message for m in response.received_messages]


def opened(referee: str, code: str | None, event_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "card_opened",
        "payload": {
            "event_id": event_id or f"ev-{referee}",
            "bank_customer_id": referee,
            "referral_code": code,
            "opened_at": "2026-11-23T10:00:00+08:00",
        },
    }


def post(body: Any, raw: bytes | None = None, headers: dict[str, str] | None = None):
    client = create_app("biz_events", source("biz_events"), "http").test_client()
    data = raw if raw is not None else json.dumps(body).encode()
    sent = headers or signed_headers(KEY_ID, SECRET.encode(), data, time.time())
    return client.post("/events", data=data, headers=sent)


def deliver(message: Any, attempt: str = "1") -> int:
    worker = create_app("on_biz_event", source("on_biz_event"), "cloudevent").test_client()
    event = CloudEvent(
        {"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub/biz"},
        {"message": {"data": base64.b64encode(message).decode(), "messageId": attempt}},
    )
    headers, body = to_structured(event)
    return worker.post("/", headers=headers, data=body).status_code


def test_a_signed_card_opening_is_queued_and_credits_the_referrer_once(topics) -> None:
    code = bootstrap.root().referrals().code_for("alice")
    r = post(opened("bob", code))
    assert r.status_code == 202 and r.json["event_id"] == "ev-bob"
    [queued] = pull(f"{topics['biz']}-sub")
    assert queued.attributes["event_type"] == "card_opened"
    for attempt in ("1", "2"):  # Pub/Sub redelivers the same message
        assert deliver(queued.data, attempt) == 200
    view = bootstrap.root().referrals().view("alice")
    assert view.successful_invites == 1 and [r["tier"] for r in view.rewards] == [1]
    [granted] = pull(f"{topics['rg']}-sub")
    assert json.loads(granted.data)["reward_id"] == "alice-t1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "lottery_won", "payload": {}}, "type"),
        (
            {**opened("bob", None), "payload": {"event_id": "e", "bank_customer_id": "b"}},
            "payload.opened_at",
        ),
        ({**opened("bob", None), "extra": 1}, "extra"),
    ],
)
def test_bad_events_are_400_naming_the_field(refused, body, field) -> None:
    r = post(body)
    assert r.status_code == 400 and r.json["field"] == field
    assert refused.written() == []


def test_a_bad_signature_is_401_and_queues_nothing(refused) -> None:
    data = json.dumps(opened("bob", None)).encode()
    forged = signed_headers(KEY_ID, b"wrong-secret-0123456789", data, time.time())
    assert post(None, raw=data, headers=forged).status_code == 401
    assert refused.written() == []
    assert post(None, raw=data).status_code == 202  # the same body, signed: queued
    assert len(refused.topic("biz-events").sent) == 1


def test_a_poison_message_goes_to_the_dead_letter_topic(topics) -> None:
    assert deliver(b'{"type": "card_opened", "payload": {"event_id": 5}}') == 200
    [dead] = pull(f"{topics['biz']}-dlq-sub")
    assert "invalid BizEvent" in dead.attributes["reason"]


def test_ops_referral_code_and_referrer_view(topics, monkeypatch) -> None:
    monkeypatch.setenv("SIYU_OPS_TOKEN", "t")
    ops = create_app("ops_api", source("ops_api"), "http").test_client()
    auth = {"Authorization": "Bearer t"}
    first = ops.post("/ops/referral-codes", json={"bank_customer_id": "alice"}, headers=auth)
    again = ops.post("/ops/referral-codes", json={"bank_customer_id": "alice"}, headers=auth)
    assert first.status_code == 200 and first.json["code"] == again.json["code"]
    bad = ops.post("/ops/referral-codes", json={"bank_customer_id": "a/b"}, headers=auth)
    assert bad.status_code == 400 and bad.json["field"] == "bank_customer_id"
    view = ops.get("/ops/referrers/alice", headers=auth).json
    assert view == {
        "successful_invites": 0,
        "rewards": [],
        "next_tier": {"invites": 1, "points": 50},
    }
