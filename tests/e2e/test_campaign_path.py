"""Campaigns over HTTP on the local stack: PUT/preview/runs through ops, ticks through
`campaign-ticks`, batches through `campaign-batches`, 群发 tasks in the simulator."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
import httpx
import pytest

from siyu.devstack.calendar_load import demo_year, known_years, new_years_eve
from siyu.devstack.scheduler import tick
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until
from siyu.domain.campaigns import SHANGHAI

from .conftest import handled


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def coming(at: str, days: int = 1) -> datetime:
    """`at` (HH:MM, Shanghai) `days` after today: a tick's as_of earlier than the clock is
    ignored (time never runs backwards), so a test must not name a fixed day."""
    today = datetime.now(SHANGHAI).date()
    return datetime.combine(today + timedelta(days=days), time.fromisoformat(at), SHANGHAI)


@pytest.fixture
def env(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> StackConfig:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    return stack


def group(sim: httpx.Client, ops: httpx.Client, owner: str, city: str, tags: list[str]) -> str:
    chat_id = unique("wr")
    sim.post("/_sim/groups", json={"chat_id": chat_id, "owner": owner}).raise_for_status()
    body = {
        "name": f"{city}福利群{chat_id[-4:]}",
        "owner_userid": owner,
        "city": city,
        "kind": "food",
        "tags": tags,
        "lat": 31.23,
        "lng": 121.47,
        "coord_system": "wgs84",
    }
    assert ops.put(f"/ops/groups/{chat_id}", json=body).status_code == 200
    return chat_id


def fixture_year(year: int) -> dict[str, Any]:
    return demo_year(year, "e2e fixture").model_dump(mode="json")


def runs(ops: httpx.Client, campaign_id: str) -> list[dict[str, Any]]:
    r = ops.get(f"/ops/campaigns/{campaign_id}/runs")
    assert r.status_code == 200, r.text
    return list(r.json())


def tasks_of(sim: httpx.Client, sender: str) -> list[dict[str, Any]]:
    return list(sim.get("/_sim/groupmsgs", params={"sender": sender}).json())


def test_a_holiday_campaign_waits_for_its_calendar_then_reaches_its_groups(sim, ops, env) -> None:
    owner, tag = unique("staff"), unique("早餐")
    chats = sorted(group(sim, ops, owner, "上海", [tag]) for _ in range(2))
    group(sim, ops, owner, "深圳", [tag])  # another city: not in the audience
    campaign = unique("newyear")
    spec = {
        "name": "元旦福利",
        "schedule": {"kind": "holiday", "holidays": ["new_years_day"], "on": "eve", "at": "20:00"},
        "active_from": "2026-11-01",
        "priority": 70,
        "audience": {"kind": "groups", "cities": ["上海"], "tags": [tag]},
        "content": {"text": "{holiday}将至，{campaign}：今晚8点抢券"},
    }
    assert ops.put(f"/ops/campaigns/{campaign}", json=spec).status_code == 200
    eve = new_years_eve(datetime.now(SHANGHAI))
    if eve.year not in known_years(env):  # from 2027 on: the package's last year is 2026
        put_year = ops.put(f"/ops/calendar/{eve.year}", json=fixture_year(eve.year))
        assert put_year.status_code == 200, put_year.text
    tick(env, "on_campaign_tick", as_of=eve)
    missing = f"calendar_missing-{eve.year + 1}"
    assert until(lambda: any(t["id"] == missing for t in ops.get("/ops/tasks").json()))
    assert runs(ops, campaign) == []  # no guess about the next year
    next_year = fixture_year(eve.year + 1)
    assert ops.put(f"/ops/calendar/{eve.year + 1}", json=next_year).status_code == 200
    bad_year = ops.put(f"/ops/calendar/{eve.year + 2}", json=next_year)
    assert bad_year.status_code == 400 and bad_year.json()["field"] == "year"
    preview = ops.post(f"/ops/campaigns/{campaign}/preview").json()
    assert preview["next_occurrence"]["key"] == f"{eve.year}-12-31"
    assert (preview["audience"], preview["batches"]) == (2, 1)
    assert preview["sample"] == "元旦将至，元旦福利：今晚8点抢券"
    for _ in range(2):  # Cloud Scheduler may deliver a tick twice
        tick(env, "on_campaign_tick", as_of=eve + timedelta(minutes=1))
    [run] = until(lambda: [r for r in runs(ops, campaign) if r["tasks_created"] == 1])
    assert (run["audience"], run["batches"], run["capped"]) == (2, 1, 0)
    [task] = tasks_of(sim, owner)
    assert sorted(task["targets"]) == chats and task["chat_type"] == "group"
    assert task["text"] == "元旦将至，元旦福利：今晚8点抢券"
    # The owner presses send in the client; the next tick reads the results.
    sim.post("/_sim/groupmsg/confirm", json={"msgid": task["msgid"]}).raise_for_status()
    tick(env, "on_campaign_tick", as_of=eve + timedelta(minutes=6))
    done = until(lambda: [r for r in runs(ops, campaign) if r["confirmed"] == 1])
    assert done and (done[0]["delivered"], done[0]["not_delivered"]) == (2, 0)
    assert len(runs(ops, campaign)) == 1


def channel_customers(
    sim: httpx.Client, ops: httpx.Client, owner: str, n: int
) -> tuple[str, list[str]]:
    """n customers added through a channel whose tag puts them in an audience."""
    state = unique("ch")[:30]
    tag = {"group": "渠道", "name": state}
    put = ops.put(
        f"/ops/channels/{state}", json={"name": "午餐渠道", "welcome_text": "欢迎", "tags": [tag]}
    )
    assert put.status_code == 200
    exts = [unique("wm") for _ in range(n)]
    for ext in exts:
        sim.post(
            "/_sim/emit",
            json={
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "UserID": owner,
                "ExternalUserID": ext,
                "State": state,
                "WelcomeCode": "",
            },
        ).raise_for_status()
    for ext in exts:
        assert until(partial(known, ops, ext))
    return f"渠道/{state}", exts


def test_two_campaigns_at_lunch_the_higher_priority_wins_each_customer(sim, ops, env) -> None:
    owner = unique("staff")
    tag, exts = channel_customers(sim, ops, owner, 3)
    lunch = {"kind": "meal", "meals": ["lunch"]}
    base = {
        "schedule": lunch,
        "active_from": "2026-11-01",
        "audience": {"kind": "customers", "tags": [tag]},
    }
    high, low = unique("lunch_hi"), unique("lunch_lo")
    ops.put(
        f"/ops/campaigns/{high}",
        json={**base, "name": "午餐五折", "priority": 80, "content": {"text": "{meal}五折"}},
    ).raise_for_status()
    ops.put(
        f"/ops/campaigns/{low}",
        json={**base, "name": "午餐满减", "priority": 20, "content": {"text": "{meal}满减"}},
    ).raise_for_status()
    tick(env, "on_campaign_tick", as_of=coming("11:31"))
    [won] = until(lambda: [r for r in runs(ops, high) if r["tasks_created"] == 1])
    [lost] = until(lambda: [r for r in runs(ops, low) if r["status"] == "batched"])
    assert (won["audience"], won["capped"]) == (3, 0)
    assert (lost["audience"], lost["capped"], lost["batches"]) == (3, 3, 0)
    assert lost["capped_by"] == {won["id"]: 3}
    [task] = tasks_of(sim, owner)
    assert sorted(task["targets"]) == sorted(exts) and task["text"] == "午餐五折"


def test_a_redelivered_batch_makes_one_wecom_task(sim, ops, env) -> None:
    owner = unique("staff")
    _tag, exts = channel_customers(sim, ops, owner, 1)
    batch = {
        "id": unique("batch"),
        "run_id": "manual@2026-12-03",
        "campaign_id": "manual",
        "sender": owner,
        "chat_type": "single",
        "targets": exts,
        "text": "redelivered",
        "planned_at": "2026-12-03T10:00:00+08:00",
    }
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(env.project, "campaign-batches")
    sent = [publisher.publish(topic, json.dumps(batch).encode()).result() for _ in range(3)]
    assert until(lambda: handled(env, *sent), timeout_s=30)  # every copy is done with
    assert len(tasks_of(sim, owner)) == 1


def test_non_compliant_copy_is_400_with_the_words(ops) -> None:
    spec = {
        "name": "理财节",
        "schedule": {"kind": "daily", "at": "09:00"},
        "active_from": "2026-11-01",
        "audience": {"kind": "customers"},
        "content": {"text": "稳赚不赔，保本保息"},
    }
    r = ops.put(f"/ops/campaigns/{unique('bad')}", json=spec)
    assert r.status_code == 400 and r.json()["field"] == "content.text"
    assert r.json()["words"] == ["保本", "稳赚", "稳赚不赔"]
    bad_schedule = {**spec, "content": {"text": "ok"}, "schedule": {"kind": "daily", "at": "25:00"}}
    r = ops.put(f"/ops/campaigns/{unique('bad')}", json=bad_schedule)
    assert r.status_code == 400 and r.json()["field"].startswith("schedule")


def known(ops: Any, external_userid: str) -> bool:
    return bool(ops.get(f"/ops/customers/{external_userid}").status_code == 200)
