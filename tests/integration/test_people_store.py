"""Retention on the Firestore emulator: the customers whose every relation ended more than
SIYU_RETENTION_DAYS ago are erased, page by page, unless the bank still serves them; each
erasure leaves a receipt that names no one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore

from siyu import bootstrap
from siyu.domain.customers import RelationStatus, add_relation, new_customer, set_status
from siyu.services.retention import ACTOR, Retention
from siyu.services.ticks import Tick

NOW = datetime.now(UTC)


def _customer(ext: str, added_days_ago: int, ended_days_ago: int | None) -> None:
    at = NOW - timedelta(days=added_days_ago)
    customer = add_relation(new_customer(ext, at), "zhangsan", "", at)
    if ended_days_ago is not None:
        ended = NOW - timedelta(days=ended_days_ago)
        customer = set_status(customer, "zhangsan", RelationStatus.LOST, ended)
    root = bootstrap.root()
    assert root.stores().customers.update_once(f"seed-{ext}", ext, lambda _c: customer)


@pytest.fixture
def world(cloud) -> firestore.Client:
    _customer("wm-gone", 900, 400)  # erased
    _customer("wm-gone-too", 800, 366)  # erased
    _customer("wm-card", 900, 500)  # kept: a cardholder at the bank
    _customer("wm-recent", 400, 100)  # kept: ended within the year
    _customer("wm-active", 900, None)  # kept: still a contact
    db = firestore.Client(project=cloud.emulators.env()["SIYU_PROJECT"])
    db.collection("bank_customers").document("bc-card").set(
        {"bank_customer_id": "bc-card", "external_userid": "wm-card"}
    )
    db.collection("cardholders").document("bc-card").set({"event_id": "e1", "opened_at": NOW})
    db.collection("bank_customers").document("bc-gone").set(
        {"bank_customer_id": "bc-gone", "external_userid": "wm-gone", "profile": {"age": 70}}
    )
    return db


def _retention(page_size: int) -> Retention:
    root = bootstrap.root()
    return Retention(
        root.people(),
        root.access_stores().people,
        root.topic("retention-ticks"),
        root.clock,
        retention_days=365,
        page_size=page_size,
        budget_s=60,
        allow_as_of=False,
    )


def test_retention_erases_only_what_is_due_and_leaves_receipts(world) -> None:
    result = _retention(page_size=1).tick(Tick())
    assert result == {"erased": 2, "kept": 1}
    left = {s.id for s in world.collection("customers").stream()}
    assert left == {"wm-card", "wm-recent", "wm-active"}
    assert not world.collection("bank_customers").document("bc-gone").get().exists
    assert world.collection("bank_customers").document("bc-card").get().exists
    receipts = [s.to_dict() or {} for s in world.collection("erasures").stream()]
    assert len(receipts) == 2 and {r["actor"] for r in receipts} == {ACTOR}
    assert "wm-gone" not in json.dumps(receipts, default=str)
    assert _retention(page_size=100).tick(Tick()) == {"erased": 0, "kept": 1}  # idempotent


def test_the_audit_trail_holds_each_receipt(world) -> None:
    _retention(page_size=10).tick(Tick())
    audit = firestore.Client(project=world.project, database="siyu-audit")
    entries = [s.to_dict() or {} for s in audit.collection("audit").stream()]
    assert sorted(e["route"] for e in entries) == ["retention", "retention"]
    assert all(e["actor"] == ACTOR and e["actor_kind"] == "service" for e in entries)
