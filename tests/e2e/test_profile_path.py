"""Business events, tags, layering and follow-ups over HTTP on the local stack.

/events → biz-events → on_biz_event → tag-sync → on_tag_sync → WeCom mark_tag; WeCom
callbacks → on_wecom_event; `siyu tick on_followup_tick` → followup-ticks → message/send.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
import httpx
import pytest
from google.cloud import firestore

from siyu.devstack.bank import BankSystems
from siyu.devstack.scheduler import tick
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until

from .conftest import handled
from .test_referral_path import pull

NOW = datetime.now(UTC)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bank(stack: StackConfig) -> BankSystems:
    return BankSystems(stack)


@pytest.fixture
def db(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[firestore.Client]:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    yield firestore.Client(project=stack.project)


def wecom_tag_ids(sim: httpx.Client, ext: str, staff: str) -> dict[str, str]:
    """The tags `staff` sees on the contact in WeCom (the simulator), by group/name."""
    contact = sim.get(f"/_sim/contacts/{ext}").json()
    follow = next(f for f in contact["follow_user"] if f["userid"] == staff)
    return {f"{t['group_name']}/{t['tag_name']}": t["tag_id"] for t in follow["tags"]}


class Customer:
    """One bank customer who is also a WeCom contact of `staff`, linked through ops."""

    def __init__(self, sim: httpx.Client, ops: httpx.Client, bank: BankSystems, staff: str):
        self.sim, self.ops, self.bank, self.staff = sim, ops, bank, staff
        self.id, self.ext = unique("bc"), unique("wm")
        self.emit(
            Event="change_external_contact",
            ChangeType="add_external_contact",
            UserID=staff,
            ExternalUserID=self.ext,
        )
        assert until(lambda: ops.get(f"/ops/customers/{self.ext}").status_code == 200)
        linked = ops.put(f"/ops/bank-customers/{self.id}", json={"external_userid": self.ext})
        assert linked.status_code == 200

    def emit(self, **fields: Any) -> None:
        self.sim.post("/_sim/emit", json=fields).raise_for_status()

    def event(self, kind: str, event_id: str | None = None, **payload: Any) -> str:
        event_id = event_id or unique("ev")
        body = {"event_id": event_id, "bank_customer_id": self.id, **payload}
        assert self.bank.post(kind, body).status_code == 202
        return event_id

    def buy(self, event_id: str | None = None, amount: str = "120.00") -> str:
        at = NOW.isoformat()
        return self.event("purchase", event_id, product="fund", amount=amount, occurred_at=at)

    def state(self) -> dict[str, Any]:
        return dict(self.ops.get(f"/ops/bank-customers/{self.id}").json())

    def wecom_tags(self) -> set[str]:
        return set(wecom_tag_ids(self.sim, self.ext, self.staff))

    def wecom_tag_ids(self) -> dict[str, str]:
        return wecom_tag_ids(self.sim, self.ext, self.staff)


@pytest.fixture
def customer(sim, ops, bank) -> Customer:
    return Customer(sim, ops, bank, unique("staff"))


def test_purchases_move_a_customer_to_repeat_and_a_duplicate_counts_once(customer) -> None:
    first = customer.buy()
    customer.buy(first)  # the bank sends the same event again
    assert until(lambda: customer.state()["stage"] == "first_purchase")
    customer.buy()
    state = until(lambda: (s := customer.state())["stage"] == "repeat" and s)
    assert state["aggregates"]["purchase_count"] == 2
    assert state["aggregates"]["total_amount"] == "240.00"  # money as exact text
    assert state["segment"] == "一般发展客户"
    assert until(lambda: {"生命周期/复购", "RFM价值分层/一般发展客户"} <= customer.wecom_tags())
    assert "生命周期/首购" not in customer.wecom_tags()


def test_profile_and_questionnaire_events_earn_rule_tags_in_wecom(customer, ops, personal) -> None:
    personal["profile birthday"] = "1960-03-02"
    rule = unique("bold")
    group = unique("风险")
    put = ops.put(
        f"/ops/tag-rules/{rule}",
        json={
            "tag": {"group": group, "name": "进取型"},
            "when": {"field": "answers.risk.appetite", "op": "==", "value": "进取"},
        },
    )
    assert put.status_code == 200 and put.json()["tag_id"]
    assert ops.get(f"/ops/tag-rules/{rule}").json()["when"]["value"] == "进取"
    customer.event("profile", age=66, aum_band="100-500万", birthday="1960-03-02")
    customer.event("questionnaire", questionnaire_id="risk", answers={"appetite": "进取"})
    wanted = {f"{group}/进取型", "客群/银发客群", "资产/高净值", "生命周期/新客"}
    assert until(lambda: wanted <= customer.wecom_tags()), customer.wecom_tags()
    state = customer.state()
    assert state["profile"]["age"] == 66 and state["answers"]["risk"]["appetite"] == "进取"
    assert state["profile"]["birthday"] == "03-02" and state["birthday_md"] == "03-02"


def test_an_invalid_rule_is_400_with_the_path_of_its_error(ops) -> None:
    bad = {
        "tag": {"group": "g", "name": "n"},
        "when": {
            "all": [{"field": "stage", "op": "==", "value": "vip"}, {"field": "x", "op": "=="}]
        },
    }
    r = ops.put("/ops/tag-rules/bad", json=bad)
    assert r.status_code == 400 and r.json()["field"] == "when.all.1"
    assert "unknown field 'x'" in r.json()["message"]
    assert ops.get("/ops/tag-rules/bad").status_code == 404


def test_a_manual_tag_survives_rule_runs(customer, ops, sim) -> None:
    manual_group = unique("手工")
    created = sim.post(
        "/_sim/emit",
        json={
            "Event": "change_external_tag",
            "ChangeType": "create",
            "GroupName": manual_group,
            "Name": "老朋友",
        },
    ).json()["event"]
    customer.emit(
        Event="change_external_contact",
        ChangeType="edit_external_contact",
        UserID=customer.staff,
        ExternalUserID=customer.ext,
        AddTags=[created["Id"]],
    )
    manual = f"{manual_group}/老朋友"
    assert until(
        lambda: any(
            t["name"] == "老朋友" for t in ops.get(f"/ops/customers/{customer.ext}").json()["tags"]
        )
    )
    customer.event("profile", age=70)
    assert until(lambda: "客群/银发客群" in customer.wecom_tags())
    customer.event("profile", age=45)  # no longer earns 银发客群: siyu removes only that
    assert until(lambda: "客群/银发客群" not in customer.wecom_tags())
    assert manual in customer.wecom_tags()

    def siyu_tags() -> dict[str, str]:
        found = ops.get(f"/ops/customers/{customer.ext}").json()["tags"]
        return {t["name"]: t["source"] for t in found}

    # siyu records the removal after mark_tag answers: WeCom may show it a moment earlier.
    until(lambda: "银发客群" not in siyu_tags())
    tags = siyu_tags()
    assert tags["老朋友"] == "manual" and "银发客群" not in tags


def test_tag_changes_in_the_admin_console_reach_siyu_and_deleted_tags_come_back(
    customer, sim, db, stack
) -> None:
    customer.buy()
    assert until(lambda: "生命周期/首购" in customer.wecom_tags())
    old_id = customer.wecom_tag_ids()["生命周期/首购"]
    sim.post(
        "/_sim/emit",
        json={"Event": "change_external_tag", "ChangeType": "delete", "Id": old_id},
    ).raise_for_status()
    mirror = db.collection("tags").document(old_id)
    assert until(lambda: (mirror.get().to_dict() or {}).get("deleted") is True)
    # Once the instances' catalogue is due for a re-read, a change recreates the tag: each
    # poll sends one more change until the tag is back.
    ages = iter(range(40, 120))

    def recreated() -> bool:
        customer.event("profile", age=next(ages))
        return bool(until(lambda: "生命周期/首购" in customer.wecom_tags(), timeout_s=2))

    refresh_s = float(stack.env()["SIYU_TAG_CATALOG_REFRESH_S"])
    assert until(recreated, timeout_s=refresh_s + 30, every_s=0)
    new_id = customer.wecom_tag_ids()["生命周期/首购"]
    assert new_id != old_id
    assert until(lambda: (db.collection("tags").document(new_id).get().to_dict() or {}).get("name"))


def followups(ops: httpx.Client, staff: str, status: str = "open") -> list[dict[str, Any]]:
    r = ops.get("/ops/followups", params={"staff": staff, "status": status})
    assert r.status_code == 200, r.text
    return list(r.json())


def messages(sim: httpx.Client, staff: str) -> list[dict[str, Any]]:
    return list(sim.get("/_sim/messages", params={"touser": staff}).json())


def test_a_new_relation_gets_revisits_that_are_sent_when_due(customer, ops, sim, stack) -> None:
    tasks = until(lambda: len(f := followups(ops, customer.staff)) == 2 and f)
    assert [t["reason"] for t in tasks] == ["revisit", "revisit"]
    due = sorted(datetime.fromisoformat(t["due_at"]) for t in tasks)
    assert timedelta(days=2.9) < due[0] - NOW < timedelta(days=3.1)
    assert timedelta(days=6.9) < due[1] - NOW < timedelta(days=7.1)
    customer.emit(  # WeCom delivers the add again: no more tasks
        Event="change_external_contact",
        ChangeType="add_external_contact",
        UserID=customer.staff,
        ExternalUserID=customer.ext,
    )
    tick(stack, "on_followup_tick", as_of=due[0] + timedelta(minutes=1))
    [message] = until(lambda: messages(sim, customer.staff))
    assert "回访" in message["text"] and message["delivered"]
    assert until(lambda: len(followups(ops, customer.staff, "sent")) == 1)
    again = tick(stack, "on_followup_tick", as_of=due[0] + timedelta(minutes=2))  # same slot
    assert until(lambda: handled(stack, again), timeout_s=30)
    assert len(messages(sim, customer.staff)) == 1
    assert len(followups(ops, customer.staff)) == 1


def test_an_abandoned_journey_reaches_the_owner_within_the_hour(customer, ops, sim, stack) -> None:
    at = NOW.isoformat()
    for _ in range(2):
        customer.event(
            "journey_abandoned",
            "j-" + customer.id,
            journey="loan_application",
            step="收入证明",
            occurred_at=at,
        )
    journey = until(
        lambda: [t for t in followups(ops, customer.staff) if t["reason"] == "journey_abandoned"]
    )
    assert len(journey) == 1 and "收入证明" in journey[0]["detail"]
    assert until(lambda: "意向/贷款意向" in customer.wecom_tags())
    tick(stack, "on_followup_tick", as_of=NOW + timedelta(minutes=31))
    message = until(lambda: messages(sim, customer.staff))
    assert message and "业务办理中断" in message[0]["text"]


def test_losing_a_customer_or_a_group_leaver_creates_a_re_reach_task(customer, ops, sim) -> None:
    chat = unique("wr")
    customer.emit(
        Event="change_external_chat",
        ChangeType="update",
        UpdateDetail="add_member",
        ChatId=chat,
        MemChangeList=[customer.ext],
    )
    customer.emit(
        Event="change_external_chat",
        ChangeType="update",
        UpdateDetail="del_member",
        ChatId=chat,
        MemChangeList=[customer.ext],
        deliveries=2,
    )
    left = until(lambda: [t for t in followups(ops, customer.staff) if t["reason"] == "left_group"])
    assert len(left) == 1 and chat in left[0]["detail"]
    customer.emit(
        Event="change_external_contact",
        ChangeType="del_follow_user",
        UserID=customer.staff,
        ExternalUserID=customer.ext,
    )
    lost = until(
        lambda: [t for t in followups(ops, customer.staff) if t["reason"] == "lost_customer"]
    )
    assert len(lost) == 1


def test_listing_follow_ups_needs_a_staff_member(ops) -> None:
    r = ops.get("/ops/followups", params={"status": "open"})
    assert r.status_code == 400 and r.json()["field"] == "staff"
    r = ops.get("/ops/followups", params={"staff": "x", "status": "finished"})
    assert r.status_code == 400 and r.json()["field"] == "status"


@pytest.mark.parametrize(
    "topic", ["tag-sync", "followup-ticks", "campaign-ticks", "campaign-batches"]
)
def test_a_poison_message_is_dead_lettered(topic, stack, db) -> None:
    marker = unique("poison")
    publisher = pubsub_v1.PublisherClient()
    publisher.publish(publisher.topic_path(stack.project, topic), marker.encode()).result()
    dead = pull(stack, f"{topic}-dlq-ops", wanted=1)
    assert any(marker in m.data.decode() for m in dead)
