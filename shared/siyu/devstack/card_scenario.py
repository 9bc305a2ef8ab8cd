"""The demo's card-alert act: groups in two cities, alerts routed to the nearest with room."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from siyu.devstack.stack import StackConfig
from siyu.domain import geo
from siyu.domain.partner_auth import signed_headers

# (chat id, name, city, WGS-84 lat, lng, the system ops send it in, starting members, tags)
GROUPS = [
    ("wr_demo_jingan", "静安寺美食福利群", "上海", 31.2235, 121.4455, "gcj02", 199, ["午餐"]),
    ("wr_demo_nanjingxi", "南京西路福利群", "上海", 31.2290, 121.4590, "bd09", 40, []),
    ("wr_demo_lujiazui", "陆家嘴福利群", "上海", 31.2397, 121.4998, "wgs84", 120, ["午餐"]),
    ("wr_demo_nanshan", "南山科技园福利群", "深圳", 22.5405, 113.9345, "gcj02", 10, []),
    ("wr_demo_futian", "福田CBD福利群", "深圳", 22.5431, 114.0579, "wgs84", 180, ["午餐"]),
]
OWNER = "zhangsan"
# (merchant, city, WGS-84 lat, lng): where the day's card transactions happen.
SHOPS = [
    ("静安寺面馆", "上海", 31.2238, 121.4460),
    ("陆家嘴咖啡", "上海", 31.2380, 121.5010),
    ("南山便利店", "深圳", 22.5400, 113.9350),
    ("福田超市", "深圳", 22.5420, 114.0560),
    ("松江奥莱", "上海", 31.0320, 121.2270),  # 25 km out: no group within 5 km
    ("西湖茶馆", "杭州", 30.2590, 120.1300),  # no group in the city at all
]


def _as_sent(lat: float, lng: float, system: str) -> tuple[float, float]:
    if system == "wgs84":
        return lat, lng
    gcj = geo.wgs84_to_gcj02(lat, lng)
    return gcj if system == "gcj02" else geo.gcj02_to_bd09(*gcj)


@dataclass
class CardSummary:
    invites: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    retries_same: int = 0
    retries: int = 0
    overflow: tuple[str, str] = ("", "")
    full_members: int = 0
    joined_member: str = ""
    tasks: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [
            "Card-alert invites (POST /card-alert, HMAC-signed, two cities):",
            f"  {self.alerts} alerts → " + ", ".join(f"{r}: {n}" for r, n in self.reasons.items()),
            *[f"  {self.names.get(g, g)}: {n} invites" for g, n in self.invites.most_common()],
            f"  Full group overflow: {self.names.get(self.overflow[0], '?')} reached "
            f"{self.full_members} members → next invite went to "
            f"{self.names.get(self.overflow[1], '?')}",
            f"  Customer who joined a group by its QR code, next alert: {self.joined_member}",
            f"  Retried txns answered identically: {self.retries_same} of {self.retries}",
            "  Ops tasks (area needs a group): " + ("; ".join(self.tasks) or "none"),
            "",
        ]
        return "\n".join(lines)


class Cards:
    def __init__(self, cfg: StackConfig) -> None:
        self.url = f"{cfg.gateway_url}/card-alert"
        self.key_id, self.secret = cfg.partner("local-cards")
        self.stamp = time.time()

    def post(self, txn: str, customer: str, shop: tuple[str, str, float, float]) -> dict[str, Any]:
        name, city, lat, lng = shop
        body = json.dumps(
            {
                "txn_id": txn,
                "bank_customer_id": customer,
                "amount": "36.00",
                "currency": "CNY",
                "occurred_at": "2026-11-23T12:05:00+08:00",
                "merchant": {
                    "name": name,
                    "mcc": "5812",
                    "city": city,
                    "lat": lat,
                    "lng": lng,
                    "coord_system": "wgs84",
                },
            }
        ).encode()
        self.stamp = max(self.stamp + 1, time.time())  # a retry is signed anew
        headers = signed_headers(self.key_id, self.secret, body, self.stamp)
        r = httpx.post(self.url, content=body, headers=headers, timeout=15)
        r.raise_for_status()
        answer: dict[str, Any] = r.json()
        return answer


def play(cfg: StackConfig) -> CardSummary:
    ops = cfg.ops_client()
    sim = httpx.Client(base_url=cfg.simulator_url, timeout=30)
    cards, summary = Cards(cfg), CardSummary()
    for chat_id, name, city, lat, lng, system, members, tags in GROUPS:
        sim.post(
            "/_sim/groups",
            json={"chat_id": chat_id, "name": name, "owner": OWNER, "members": members},
        ).raise_for_status()
        sent_lat, sent_lng = _as_sent(lat, lng, system)
        ops.put(
            f"/ops/groups/{chat_id}",
            json={
                "name": name,
                "owner_userid": OWNER,
                "city": city,
                "kind": "food",
                "tags": tags,
                "lat": sent_lat,
                "lng": sent_lng,
                "coord_system": system,
                "member_count": members,
            },
        ).raise_for_status()
        summary.names[chat_id] = name
    time.sleep(1.2)  # the card-alert index picks up group changes each second locally

    def alert(txn: str, customer: str, shop: tuple[str, str, float, float]) -> dict[str, Any]:
        answer = cards.post(txn, customer, shop)
        summary.alerts += 1
        summary.reasons[answer["reason"]] += 1
        if answer["invite"]:
            summary.invites[answer["invite"]["group_id"]] += 1
        return answer

    for i in range(12):
        first = alert(f"demo-txn-{i}", f"bc_demo_{i}", SHOPS[i % 4])
        if i % 4 == 0:  # the card-alert system retries some transactions
            summary.retries += 1
            summary.retries_same += cards.post(f"demo-txn-{i}", f"bc_demo_{i}", SHOPS[0]) == first
    alert("demo-txn-cooldown", "bc_demo_0", SHOPS[0])  # invited minutes ago
    for k, shop in enumerate(SHOPS[4:]):
        alert(f"demo-txn-far-{k}", f"bc_demo_far_{k}", shop)

    # A linked customer scans 静安寺's QR code: the group reaches 200 and stops admitting.
    ops.put("/ops/bank-customers/bc_demo_joiner", json={"external_userid": "wm_demo_joiner"})
    sim.post(
        "/_sim/emit",
        json={
            "Event": "change_external_chat",
            "ChangeType": "update",
            "UpdateDetail": "add_member",
            "ChatId": "wr_demo_jingan",
            "JoinScene": 3,
            "MemChangeList": ["wm_demo_joiner"],
        },
    ).raise_for_status()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        summary.full_members = ops.get("/ops/groups/wr_demo_jingan").json()["member_count"]
        if summary.full_members >= 200:
            break
        time.sleep(0.1)
    time.sleep(1.2)
    after = alert("demo-txn-overflow", "bc_demo_overflow", SHOPS[0])
    summary.overflow = ("wr_demo_jingan", (after["invite"] or {}).get("group_id", ""))
    summary.joined_member = alert("demo-txn-joiner", "bc_demo_joiner", SHOPS[0])["reason"]
    summary.tasks = [f"{t['city']} near {t['area_geohash']}" for t in ops.get("/ops/tasks").json()]
    return summary
