"""Card alerts over HTTP on the whole local stack: registry, routing, capacity, membership."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until
from siyu.domain.partner_auth import signed_headers


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class Cards:
    """The card-alert system: signs each request with its key, a new timestamp each time."""

    def __init__(self, stack: StackConfig) -> None:
        self.url = f"{stack.gateway_url}/card-alert"
        self.key_id, self.secret = stack.partner("local-cards")
        self.clock = time.time()

    def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        data = json.dumps(body).encode()
        self.clock = max(self.clock + 1, time.time())  # never the same signature twice
        sent = headers or signed_headers(self.key_id, self.secret, data, self.clock)
        return httpx.post(self.url, content=data, headers=sent, timeout=15)


@pytest.fixture
def cards(stack: StackConfig) -> Cards:
    return Cards(stack)


def alert(customer: str, lat: float, lng: float, city: str, txn: str | None = None) -> dict:
    return {
        "txn_id": txn or unique("txn"),
        "bank_customer_id": customer,
        "amount": "42.00",
        "currency": "CNY",
        "occurred_at": "2026-11-23T12:00:00+08:00",
        "merchant": {
            "name": "便利店",
            "mcc": "5411",
            "city": city,
            "lat": lat,
            "lng": lng,
            "coord_system": "wgs84",
        },
    }


def register(
    sim: httpx.Client,
    ops: httpx.Client,
    cards: Cards,
    city: str,
    lat: float,
    lng: float,
    **extra: Any,
) -> str:
    """Register a group and wait until card alerts see it (the index refreshes each second)."""
    chat_id = unique("wr")
    # WeCom's member list agrees with the count ops register (the join events re-read it).
    members = extra.get("member_count", 0)
    seed = {"chat_id": chat_id, "owner": "zhangsan", "members": members}
    sim.post("/_sim/groups", json=seed).raise_for_status()
    r = ops.put(
        f"/ops/groups/{chat_id}",
        json={
            "name": f"{city}福利{chat_id[-4:]}",
            "owner_userid": "zhangsan",
            "city": city,
            "kind": "food",
            "lat": lat,
            "lng": lng,
            "coord_system": "wgs84",
            **extra,
        },
    )
    assert r.status_code == 200, r.text

    def routed_here() -> bool:
        probe = cards.post(alert(unique("probe"), lat, lng, city)).json()
        return bool(probe["invite"]) and probe["invite"]["group_id"] == chat_id

    assert eventually(routed_here)
    return chat_id


def eventually(check, timeout_s: float = 8.0) -> Any:
    return until(check, timeout_s=timeout_s, every_s=0.1)


def test_registry_stores_wgs84_with_a_join_way_and_rejects_bad_input(sim, ops) -> None:
    chat_id = unique("wr")
    sim.post("/_sim/groups", json={"chat_id": chat_id}).raise_for_status()
    body = {
        "name": "静安美食群",
        "owner_userid": "zhangsan",
        "city": "上海",
        "kind": "food",
        "lat": 31.2290,
        "lng": 121.4570,
        "coord_system": "bd09",
    }
    group = ops.put(f"/ops/groups/{chat_id}", json=body).json()
    assert group["location"]["source_system"] == "bd09"
    assert abs(group["location"]["lat"] - 31.2290) > 0.002  # moved to WGS-84
    assert group["join_config_id"] and group["join_url"].startswith("https://wework.qpic.cn/")
    assert ops.get(f"/ops/groups/{chat_id}").json()["join_url"] == group["join_url"]
    for change, field in (
        ({"coord_system": "mars"}, "coord_system"),
        ({"lat": 95}, "lat"),
        ({"name": ""}, "name"),
    ):
        r = ops.put(f"/ops/groups/{chat_id}", json={**body, **change})
        assert r.status_code == 400 and r.json()["field"] == field
    missing = {k: v for k, v in body.items() if k != "city"}
    assert ops.put(f"/ops/groups/{chat_id}", json=missing).json()["field"] == "city"
    assert ops.delete(f"/ops/groups/{chat_id}").json()["status"] == "dismissed"


def test_a_full_group_overflows_and_a_joined_customer_is_not_invited(sim, ops, cards) -> None:
    city = unique("城")
    near = register(sim, ops, cards, city, 30.5000, 114.3000, member_count=199)
    far = register(sim, ops, cards, city, 30.5100, 114.3000)
    first = cards.post(alert(unique("c"), 30.5001, 114.3001, city)).json()
    assert first["invite"]["group_id"] == near

    joiner, ext = unique("c"), unique("wm")
    assert (
        ops.put(f"/ops/bank-customers/{joiner}", json={"external_userid": ext}).status_code == 200
    )
    sim.post(
        "/_sim/emit",
        json={
            "Event": "change_external_chat",
            "ChangeType": "update",
            "UpdateDetail": "add_member",
            "ChatId": near,
            "JoinScene": 3,
            "MemChangeList": [ext],
            "deliveries": 2,
        },
    ).raise_for_status()
    # The join fills the group (200) and marks the linked bank customer as a member.
    assert eventually(lambda: ops.get(f"/ops/groups/{near}").json()["member_count"] == 200)
    assert eventually(lambda: near in ops.get(f"/ops/bank-customers/{joiner}").json()["groups"])
    assert ops.get(f"/ops/groups/{near}").json()["member_count"] == 200  # the duplicate: once

    overflow = eventually(
        lambda: (
            (r := cards.post(alert(unique("c"), 30.5001, 114.3001, city)).json())["invite"]
            and r["invite"]["group_id"] == far
            and r
        )
    )
    assert overflow and overflow["reason"] == "nearest_group_with_room"
    member = cards.post(alert(joiner, 30.5001, 114.3001, city)).json()
    assert member == {"invite": None, "reason": "already_in_a_benefit_group"}


def test_cooldown_and_the_same_txn_answered_the_same(sim, ops, cards) -> None:
    city = unique("城")
    register(sim, ops, cards, city, 28.2000, 112.9000)
    customer = unique("c")
    first = cards.post(alert(customer, 28.2001, 112.9001, city, txn="T-1")).json()
    assert first["invite"] is not None
    assert cards.post(alert(customer, 28.2001, 112.9001, city, txn="T-1")).json() == first
    second = cards.post(alert(customer, 28.2001, 112.9001, city, txn="T-2")).json()
    assert second == {"invite": None, "reason": "invited_recently"}
    assert len(ops.get(f"/ops/bank-customers/{customer}").json()["invites"]) == 1


def test_city_fallback_and_an_ops_task_where_there_is_no_group(sim, ops, cards) -> None:
    city = unique("城")
    suburb = register(sim, ops, cards, city, 26.1000, 119.3000)
    fallback = cards.post(alert(unique("c"), 26.2500, 119.3000, city)).json()  # ~16.7 km
    assert fallback["reason"] == "nearest_in_city"
    assert fallback["invite"]["group_id"] == suburb and fallback["invite"]["distance_m"] > 5000
    empty_city = unique("城")
    none = cards.post(alert(unique("c"), 36.0000, 103.8000, empty_city)).json()
    assert none == {"invite": None, "reason": "no_group_with_room"}
    tasks = ops.get("/ops/tasks").json()
    assert any(t["city"] == empty_city and t["kind"] == "new_group_needed" for t in tasks)


def test_a_bad_signature_is_401_and_writes_nothing(ops, cards) -> None:
    customer = unique("c")
    body = alert(customer, 31.2, 121.4, "上海")
    headers = signed_headers(
        cards.key_id, b"not-the-right-secret-000", json.dumps(body).encode(), time.time()
    )
    r = cards.post(body, headers=headers)
    assert r.status_code == 401 and "signature" in r.json()["message"]
    assert ops.get(f"/ops/bank-customers/{customer}").status_code == 404
