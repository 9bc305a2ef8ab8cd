"""A person's data exported and erased on request, over HTTP on the local stack.

One person goes through every flow that writes about a customer (a WeCom add with its
welcome, the link to the bank, profile, questionnaire, purchases, an abandoned journey, a
card alert's invite, a referral as referee and as referrer); the erasure then leaves none
of their identifiers in any collection of either database, WeCom without siyu's rule
tags, and the aggregate counts as they were."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from google.cloud import firestore

from siyu.config import Settings
from siyu.devstack.bank import BankSystems
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until

from .test_card_alert_path import Cards, alert, cards, register, unique
from .test_profile_path import wecom_tag_ids
from .test_referral_path import code_for

__all__ = ["cards"]  # the card-alert system's fixture, used here too


@pytest.fixture
def dbs(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> list[firestore.Client]:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    main = firestore.Client(project=stack.project)
    audit = firestore.Client(project=stack.project, database=Settings().audit_database)
    return [main, audit]


class Person:
    """One customer of the bank who is also a WeCom contact, with everything about them."""

    def __init__(self, sim: httpx.Client, ops: httpx.Client, bank: BankSystems) -> None:
        self.sim, self.ops, self.bank = sim, ops, bank
        self.staff, self.ext, self.id = unique("staff"), unique("wmP"), unique("bcP")
        self.name = f"隐私{uuid.uuid4().hex[:6]}"
        self.device, self.phone = uuid.uuid4().hex * 2, uuid.uuid4().hex * 2
        self.birthday = "1961-07-19"

    def identifiers(self) -> dict[str, str]:
        """What must be found nowhere after the erasure, plain hashes of the ids included."""
        found = {
            "external_userid": self.ext,
            "bank_customer_id": self.id,
            "name": self.name,
            "device_hash": self.device,
            "phone_hash": self.phone,
            "birthday": self.birthday,
        }
        for key in ("external_userid", "bank_customer_id"):
            found[f"sha256({key})"] = hashlib.sha256(found[key].encode()).hexdigest()[:32]
        return found

    def event(self, kind: str, **payload: Any) -> None:
        body = {"event_id": unique("ev"), "bank_customer_id": self.id, **payload}
        r = self.bank.post(kind, body)
        assert r.status_code == 202, r.text

    def state(self) -> dict[str, Any]:
        return dict(self.ops.get(f"/ops/bank-customers/{self.id}").json())

    def wecom_tags(self) -> set[str]:
        return set(wecom_tag_ids(self.sim, self.ext, self.staff))


def _opened(person_id: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": unique("ev"),
        "bank_customer_id": person_id,
        "referral_code": code,
        "opened_at": "2026-11-23T10:00:00+08:00",
        **extra,
    }


def _everything(person: Person, ops: httpx.Client, sim: httpx.Client, cards: Cards) -> None:
    now = datetime.now(UTC).isoformat()
    sim.post(
        "/_sim/emit",
        json={
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": person.staff,
            "ExternalUserID": person.ext,
            "Name": person.name,
        },
    ).raise_for_status()
    assert until(lambda: ops.get(f"/ops/customers/{person.ext}").status_code == 200)
    linked = ops.put(f"/ops/bank-customers/{person.id}", json={"external_userid": person.ext})
    assert linked.status_code == 200
    # a referee of a friend, and a referrer of another
    friend_code = code_for(ops, unique("bcF"))
    opened = _opened(person.id, friend_code, device_hash=person.device, phone_hash=person.phone)
    assert person.bank.post("card_opened", opened).status_code == 202
    own_code = code_for(ops, person.id)
    assert person.bank.post("card_opened", _opened(unique("bcG"), own_code)).status_code == 202
    person.event("profile", age=65, aum_band="100-500万", birthday=person.birthday)
    person.event("questionnaire", questionnaire_id="risk", answers={"appetite": "稳健"})
    for _ in range(2):
        person.event("purchase", product="fund", amount="88.00", occurred_at=now)
    person.event("journey_abandoned", journey="loan_application", step="收入证明", occurred_at=now)
    city = unique("隐私市")
    register(sim, ops, cards, city, 31.1001, 121.5001)
    answered = cards.post(alert(person.id, 31.1001, 121.5001, city)).json()
    assert answered["invite"], answered

    def settled() -> bool:
        state = person.state()
        followups = ops.get("/ops/followups", params={"staff": person.staff}).json()
        referrer = ops.get(f"/ops/referrers/{person.id}").json()
        return (
            state["stage"] == "repeat"
            and "risk" in state["answers"]
            and any(f["reason"] == "journey_abandoned" for f in followups)
            and referrer.get("successful_invites") == 1
            and ops.get(f"/ops/invites/{person.id}").json().get("status") == "credited"
            and "生命周期/复购" in person.wecom_tags()
        )

    assert until(settled, timeout_s=60)


def _holding(dbs: list[firestore.Client], needles: dict[str, str]) -> list[str]:
    """Every (database, collection, document) whose id or content holds a needle."""
    hits = []
    for db in dbs:
        for col in db.collections():
            for snap in col.stream():
                text = snap.id + json.dumps(snap.to_dict(), default=str, ensure_ascii=False)
                hits += [
                    f"{db._database}/{col.id}/{snap.id}: {what}"
                    for what, needle in needles.items()
                    if needle in text
                ]
    return hits


def _tallies(db: firestore.Client) -> int:
    return sum(
        sum(int(v) for v in (s.to_dict() or {}).get("counts", {}).values())
        for s in db.collection("funnel_days").stream()
    )


def test_a_person_written_by_every_flow_is_exported_then_erased_everywhere(
    stack, sim, ops, cards, dbs, personal
) -> None:
    person = Person(sim, ops, BankSystems(stack))
    personal |= {f"people {k}": v for k, v in person.identifiers().items() if "id" not in k}
    _everything(person, ops, sim, cards)
    needles = person.identifiers()
    assert _holding(dbs, needles), "the flows wrote nothing about the person"

    exported = ops.post("/ops/people:export", json={"bank_customer_id": person.id})
    assert exported.status_code == 200, exported.text
    held = exported.json()
    assert held["identities"] == {
        "external_userids": [person.ext],
        "bank_customer_ids": [person.id],
    }
    wanted = {"customers", "bank_customers", "funnel", "followups", "invites", "referrers"}
    wanted |= {"referral_codes", "rewards", "referral_hash_slots", "cardholders", "dedupe"}
    assert wanted <= set(held["collections"]), set(held["collections"])
    customer = held["collections"]["customers"][0]["data"]
    assert customer["name"] == person.name
    bank = held["collections"]["bank_customers"][0]["data"]
    assert bank["profile"]["birthday"] == "07-19"  # month-day only: the year was not kept
    counted = _tallies(dbs[0])

    erased = ops.post(
        "/ops/people:erase", json={"external_userid": person.ext, "reason": "客户申请删除"}
    )
    assert erased.status_code == 200, erased.text
    receipt = erased.json()
    assert receipt["collections"]["customers"] == 1
    assert receipt["wecom_tags_removed"] >= 1
    assert not any(needle in erased.text for needle in needles.values())

    assert _holding(dbs, needles) == []
    assert not {"生命周期/复购", "RFM价值分层/一般发展客户"} & person.wecom_tags()
    assert _tallies(dbs[0]) == counted  # the aggregate counts are left as they were
    # the receipt is in the audit trail, naming no one
    trail = ops.get("/ops/audit", params={"target": f"erasure={receipt['id']}"}).json()
    assert [e["route"] for e in trail] == ["POST /ops/people:erase"]

    again = ops.post(
        "/ops/people:erase", json={"bank_customer_id": person.id, "reason": "客户申请删除"}
    )
    assert again.status_code == 200 and again.json()["collections"] == {}
    nothing = ops.post("/ops/people:export", json={"external_userid": person.ext})
    assert nothing.status_code == 404


def test_export_and_erase_name_the_field_in_error_and_need_an_admin(ops, stack) -> None:
    r = ops.post("/ops/people:erase", json={"external_userid": "wm1"})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = ops.post("/ops/people:export", json={})
    assert r.status_code == 400 and "external_userid or bank_customer_id" in r.json()["message"]


def test_the_logs_of_siyus_processes_hold_no_personal_data(stack, personal) -> None:
    """Runs last (conftest): names, birthdays and device or phone hashes sent by the suite
    appear in no log line of the gateway or the worker (the simulator plays WeCom)."""
    assert personal, "no test registered what it sent"
    logs = [stack.state_dir / "logs" / name for name in ("gateway.log", "worker.log")]
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    assert "card-alert invite issued" in text  # the logs the person's flows went through
    assert [what for what, value in personal.items() if value in text] == []
