"""The demo: seed channels, play a bank's morning through the real HTTP paths, summarise."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from siyu.devstack.stack import StackConfig

CHANNELS = {
    "card_alert": (
        "动账提醒",
        "您好！您的动账提醒已开通，附近福利群每周三有专享优惠。",
        [("渠道", "动账提醒"), ("客群", "活跃用卡")],
    ),
    "branch_poster": (
        "网点海报",
        "欢迎来到招招福利站，回复“福利”查看本周网点活动。",
        [("渠道", "网点海报")],
    ),
    "friend_invite": (
        "好友推荐",
        "感谢好友推荐！开卡成功后双方都有礼遇。",
        [("渠道", "好友推荐"), ("客群", "潜在开卡")],
    ),
}
ADDS = {"card_alert": 5, "branch_poster": 3, "friend_invite": 2}
CITIES = {"card_alert": "上海", "branch_poster": "深圳", "friend_invite": "上海"}
STAFF = ["zhangsan", "lisi", "wangwu"]


@dataclass
class Summary:
    per_channel: dict[str, int] = field(default_factory=dict)
    welcomes: list[float] = field(default_factory=list)
    adds_with_code: int = 0
    duplicate_deliveries: int = 0
    duplicate_effects: int = 0
    duplicate_welcomes: int = 0
    forged_statuses: list[int | None] = field(default_factory=list)
    forged_written: bool = False
    faulty_adds: int = 0
    faulty_welcomes: int = 0
    fault_calls: int = 0
    lost: int = 0
    group_members: int = 0
    tags_in_wecom: int = 0
    ack_ms: list[float] = field(default_factory=list)

    def render(self) -> str:
        p50 = statistics.median(self.welcomes) if self.welcomes else 0.0
        worst = max(self.welcomes) if self.welcomes else 0.0
        ack = statistics.median(self.ack_ms) if self.ack_ms else 0.0
        lines = [
            "",
            "siyu local run — what happened",
            "==============================",
            "Customers added per channel (read back through GET /ops/customers):",
            *[f"  {CHANNELS[s][0]:<8} ({s}): {n}" for s, n in self.per_channel.items()],
            f"Welcome messages sent: {len(self.welcomes)} for {self.adds_with_code} adds with a "
            f"WelcomeCode (p50 {p50:.0f} ms, max {worst:.0f} ms after the event; WeCom allows "
            "20,000 ms)",
            f"Callback ack latency: p50 {ack:.0f} ms (WeCom waits 5,000 ms)",
            f"Channel tags on customers in WeCom (mark_tag): {self.tags_in_wecom}",
            f"Duplicates absorbed: {self.duplicate_deliveries} deliveries of one callback → "
            f"{self.duplicate_effects} customer relation, {self.duplicate_welcomes} welcome",
            f"Forged requests rejected: {self.forged_statuses.count(403)} of "
            f"{len(self.forged_statuses)} (HTTP 403), nothing written: {not self.forged_written}",
            f"With 30% injected WeCom faults ({self.fault_calls} faulty API answers): "
            f"{self.faulty_welcomes} welcome messages for {self.faulty_adds} adds",
            f"Lost customers recorded, follow-up raised (del_follow_user): {self.lost}",
            f"Benefit group members after joins: {self.group_members}",
            "",
        ]
        return "\n".join(lines)


class Demo:
    def __init__(self, cfg: StackConfig) -> None:
        self.gw = cfg.ops_client()
        self.sim = httpx.Client(base_url=cfg.simulator_url, timeout=30)

    def emit(self, **fields: Any) -> dict[str, Any]:
        r = self.sim.post("/_sim/emit", json=fields)
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result

    def add(self, ext: str, state: str, staff: str, **extra: Any) -> dict[str, Any]:
        return self.emit(
            Event="change_external_contact",
            ChangeType="add_external_contact",
            UserID=staff,
            ExternalUserID=ext,
            State=state,
            **extra,
        )

    def customer(self, ext: str) -> dict[str, Any] | None:
        r = self.gw.get(f"/ops/customers/{ext}")
        return r.json() if r.status_code == 200 else None

    def wait_for(self, ext: str, check: Any = bool, timeout_s: float = 10) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.customer(ext)
            if found and check(found):
                return found
            time.sleep(0.1)
        return self.customer(ext)


def play(cfg: StackConfig) -> Summary:
    demo, summary = Demo(cfg), Summary()
    for state, (name, text, tags) in CHANNELS.items():
        demo.gw.put(
            f"/ops/channels/{state}",
            json={
                "name": name,
                "welcome_text": text,
                "tags": [{"group": g, "name": n} for g, n in tags],
                "city": CITIES[state],
            },
        ).raise_for_status()

    added: dict[str, str] = {}
    for state, count in ADDS.items():
        for i in range(count):
            ext = f"wm_demo_{state}_{i}"
            result = demo.add(ext, state, STAFF[i % len(STAFF)], Name=f"客户{len(added) + 1}")
            summary.ack_ms.append(result["deliveries"][0]["latency_ms"])
            summary.adds_with_code += 1
            added[ext] = state
    # A staff member whose console already greets: no WelcomeCode arrives.
    demo.add("wm_demo_console", "branch_poster", "lisi", WelcomeCode="")
    added["wm_demo_console"] = "branch_poster"

    # The same callback delivered five times (WeCom retries, network duplicates).
    dup = demo.add("wm_demo_dup", "card_alert", "zhangsan", deliveries=5)
    summary.duplicate_deliveries = len(dup["deliveries"])
    summary.adds_with_code += 1
    added["wm_demo_dup"] = "card_alert"

    # Forged signatures: rejected, nothing written.
    for i in range(3):
        forged = demo.add(
            f"wm_demo_forged_{i}", "card_alert", "zhangsan", forge_signature=True, WelcomeCode=""
        )
        summary.forged_statuses.append(forged["deliveries"][0]["status"])

    # WeCom misbehaving: 30% of API calls answer -1 / 45009 / 45033.
    demo.sim.post("/_sim/config", json={"fault_rate": 0.3}).raise_for_status()
    faulty = [f"wm_demo_faulty_{i}" for i in range(5)]
    for i, ext in enumerate(faulty):
        demo.add(ext, "card_alert", STAFF[i % len(STAFF)])
        added[ext] = "card_alert"
    summary.faulty_adds = len(faulty)
    summary.adds_with_code += len(faulty)
    for ext in faulty:
        demo.wait_for(ext, timeout_s=20)
    demo.sim.post("/_sim/config", json={"fault_rate": 0.0}).raise_for_status()

    # A customer deletes their manager (流失); a benefit group forms and fills.
    demo.emit(
        Event="change_external_contact",
        ChangeType="del_follow_user",
        UserID="zhangsan",
        ExternalUserID="wm_demo_card_alert_0",
    )
    chat = demo.emit(
        Event="change_external_chat", ChangeType="create", UserID="zhangsan", Name="招行福利群·南山"
    )["event"]["ChatId"]
    demo.emit(
        Event="change_external_chat",
        ChangeType="update",
        ChatId=chat,
        UpdateDetail="add_member",
        JoinScene=3,
        MemChangeCnt=12,
    )

    for ext, state in added.items():
        if demo.wait_for(ext):
            summary.per_channel[state] = summary.per_channel.get(state, 0) + 1
    relations = demo.wait_for("wm_demo_dup") or {}
    summary.duplicate_effects = len(relations.get("relations", []))
    summary.forged_written = any(demo.customer(f"wm_demo_forged_{i}") for i in range(3))
    lost = demo.wait_for(
        "wm_demo_card_alert_0", lambda c: any(r["status"] == "lost" for r in c["relations"])
    )
    summary.lost = int(bool(lost and any(r["status"] == "lost" for r in lost["relations"])))
    time.sleep(1.0)  # let the last welcome fallbacks land before counting
    welcomes = demo.sim.get("/_sim/welcomes").json()
    summary.welcomes = [w["latency_ms"] for w in welcomes]
    summary.duplicate_welcomes = sum(1 for w in welcomes if w["external_userid"] == "wm_demo_dup")
    summary.faulty_welcomes = sum(1 for w in welcomes if w["external_userid"] in faulty)
    summary.fault_calls = sum(
        1 for c in demo.sim.get("/_sim/calls").json() if c["errcode"] in (-1, 45009, 45033)
    )
    summary.tags_in_wecom = sum(
        1
        for ext in added
        for f in demo.sim.get(f"/_sim/contacts/{ext}").json().get("follow_user", [])
        if f.get("tags")
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        group = demo.gw.get(f"/ops/groups/{chat}")
        if group.status_code == 200 and group.json()["member_count"]:
            summary.group_members = group.json()["member_count"]
            break
        time.sleep(0.1)
    return summary


def play_all(cfg: StackConfig) -> str:
    """Every act of the demo, in order, as the summary `make run` prints."""
    from siyu.devstack import (
        campaign_scenario,
        card_scenario,
        content_scenario,
        funnel_scenario,
        people_scenario,
        profile_scenario,
        referral_scenario,
    )

    return "".join(
        act.render()
        for act in (
            play(cfg),
            card_scenario.play(cfg),
            referral_scenario.play(cfg),
            profile_scenario.play(cfg),
            campaign_scenario.play(cfg),
            content_scenario.play(cfg),
            funnel_scenario.play(cfg),
            people_scenario.play(cfg),
        )
    )
