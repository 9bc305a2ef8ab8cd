"""Segments that stay true over time, rules that reach every customer and follow-ups that
close, over HTTP on the local stack.

`siyu tick on_relayer_tick --days N` (scheduler.tick) → relayer-ticks → on_relayer_tick →
tag-sync → on_tag_sync → WeCom mark_tag; PUT /ops/tag-rules → tag-backfill-ticks →
on_tag_backfill; /events journey_completed → on_biz_event; campaigns skip opted-out customers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from siyu.devstack.scheduler import tick
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until

from .test_campaign_path import channel_customers, coming, runs
from .test_profile_path import Customer, bank, unique

__all__ = ["bank"]  # the fixture, used by `customer`


@pytest.fixture
def env(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> StackConfig:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    return stack


@pytest.fixture
def customer(sim, ops, bank) -> Customer:
    return Customer(sim, ops, bank, unique("staff"))


def test_a_customer_quiet_for_120_days_turns_dormant_and_wecom_gets_the_tag(customer, env) -> None:
    customer.buy(amount="3000.00")
    customer.buy(amount="3000.00")
    state = until(lambda: (s := customer.state())["aggregates"]["purchase_count"] == 2 and s)
    assert state["segment"] == "重要发展客户" and state["next_relayer_at"]
    assert until(lambda: "RFM价值分层/重要发展客户" in customer.wecom_tags())
    assert "活跃度/沉睡" not in customer.wecom_tags()
    # The scheduler's daily tick, played 121 days ahead (what `siyu tick --days 121` does).
    tick(env, "on_relayer_tick", as_of=datetime.now(UTC) + timedelta(days=121))
    assert until(lambda: "活跃度/沉睡" in customer.wecom_tags(), timeout_s=60)
    assert until(lambda: "RFM价值分层/重要挽留客户" in customer.wecom_tags())
    assert "RFM价值分层/重要发展客户" not in customer.wecom_tags()
    state = customer.state()
    assert state["segment"] == "重要挽留客户" and state["next_relayer_at"] is None


def test_a_rule_saved_after_customers_exist_reaches_them_through_the_backfill(
    customer, ops
) -> None:
    questionnaire = unique("q")
    customer.event("questionnaire", questionnaire_id=questionnaire, answers={"fav": "黄金"})
    assert until(lambda: questionnaire in customer.state()["answers"])
    rule, group = unique("gold"), unique("偏好")
    body = {
        "tag": {"group": group, "name": "黄金"},
        "when": {"field": f"answers.{questionnaire}.fav", "op": "==", "value": "黄金"},
    }
    preview = ops.post("/ops/tag-rules:preview", json={"id": rule, **body})
    assert preview.status_code == 200, preview.text
    assert (preview.json()["gain"], preview.json()["sample_gain"]) == (1, [customer.id])
    assert preview.json()["lose"] == 0 and preview.json()["complete"] is True
    assert ops.get(f"/ops/tag-rules/{rule}/backfill").status_code == 404  # nothing saved
    assert ops.put(f"/ops/tag-rules/{rule}", json=body).status_code == 200
    done = until(
        lambda: (b := ops.get(f"/ops/tag-rules/{rule}/backfill").json())["status"] == "done" and b,
        timeout_s=60,
    )
    assert done["evaluated"] >= 1 and done["changed"] == 1 and done["finished_at"]
    assert until(lambda: f"{group}/黄金" in customer.wecom_tags())
    removed = ops.delete(f"/ops/tag-rules/{rule}")
    assert removed.status_code == 200 and removed.json()["status"] == "running"
    assert until(lambda: f"{group}/黄金" not in customer.wecom_tags(), timeout_s=60)


def followups(ops: httpx.Client, staff: str, status: str) -> list[dict[str, Any]]:
    r = ops.get("/ops/followups", params={"staff": staff, "status": status})
    assert r.status_code == 200, r.text
    return list(r.json())


def test_a_completed_journey_cancels_its_follow_up_and_staff_close_the_rest(customer, ops) -> None:
    at = datetime.now(UTC).isoformat()
    customer.event("journey_abandoned", journey="loan_application", step="上传资料", occurred_at=at)

    def journey_tasks(status: str) -> list[dict[str, Any]]:
        found = followups(ops, customer.staff, status)
        return [f for f in found if f["reason"] == "journey_abandoned"]

    [task] = until(lambda: journey_tasks("open"))
    assert task["journey"] == "loan_application" and task["bank_customer_id"] == customer.id
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    customer.event("journey_completed", journey="loan_application", occurred_at=later)
    [cancelled] = until(lambda: journey_tasks("cancelled"))
    assert cancelled["id"] == task["id"] and journey_tasks("open") == []
    # The relation's revisits: one snoozed, then done; a bad `until` names the field.
    revisit = next(f for f in followups(ops, customer.staff, "open") if f["reason"] == "revisit")
    path = f"/ops/followups/{revisit['id']}"
    bad = ops.post(f"{path}:snooze", json={"until": "2020-01-01T00:00:00+08:00"})
    assert bad.status_code == 400 and bad.json()["field"] == "until"
    until_at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    snoozed = ops.post(f"{path}:snooze", json={"until": until_at.isoformat()})
    assert snoozed.status_code == 200 and snoozed.json()["status"] == "open"
    assert datetime.fromisoformat(snoozed.json()["due_at"]) == until_at
    done = ops.post(f"{path}:done", json={"note": "已回访"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert ops.post(f"{path}:done", json={}).json()["closed_at"] == done.json()["closed_at"]
    assert ops.post("/ops/followups/nope:done", json={}).status_code == 404


def test_a_customer_who_refuses_marketing_is_skipped_by_a_campaign(sim, ops, env) -> None:
    owner = unique("staff")
    tag, exts = channel_customers(sim, ops, owner, 3)
    refusing = exts[0]
    linked = ops.put(
        f"/ops/bank-customers/{unique('bc')}",
        json={"external_userid": refusing, "marketing_opt_out": True},
    )
    assert linked.status_code == 200 and linked.json()["marketing_opt_out"] is True
    assert until(lambda: ops.get(f"/ops/customers/{refusing}").json()["marketing_opt_out"])
    campaign = unique("lunch_optout")
    spec = {
        "name": "午餐福利",
        "schedule": {"kind": "meal", "meals": ["lunch"]},
        "active_from": "2026-11-01",
        "audience": {"kind": "customers", "tags": [tag]},
        "content": {"text": "{meal}福利"},
    }
    assert ops.put(f"/ops/campaigns/{campaign}", json=spec).status_code == 200
    assert ops.post(f"/ops/campaigns/{campaign}/preview").json()["opted_out"] == 1
    tick(env, "on_campaign_tick", as_of=coming("11:31", days=3))
    [run] = until(lambda: [r for r in runs(ops, campaign) if r["tasks_created"] == 1])
    assert (run["audience"], run["opted_out"]) == (2, 1)
    [task] = sim.get("/_sim/groupmsgs", params={"sender": owner}).json()
    assert sorted(task["targets"]) == sorted(exts[1:])
