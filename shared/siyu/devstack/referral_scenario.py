"""The demo's referral act: a card holder's friends open cards and she climbs the tiers."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from siyu.devstack.bank import BankSystems
from siyu.devstack.stack import StackConfig, local_subscription
from siyu.domain.referrals import SHANGHAI

REFERRER = "bc_demo_star"
STEPS = (1, 3, 5, 10, 12)  # friends who have opened a card, checked after each step


@dataclass
class ReferralSummary:
    code: str = ""
    climb: list[tuple[int, int, list[int]]] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    granted: list[str] = field(default_factory=list)
    duplicates: int = 0

    def render(self) -> str:
        lines = [
            f"Referral rewards (POST /events card_opened, code {self.code}):",
            *[
                f"  after {friends:>2} friends: {credited:>2} credited, tiers {tiers}"
                for friends, credited, tiers in self.climb
            ],
            f"  Each opening sent twice ({self.duplicates} duplicates): counted once",
            "  Rejected, with reasons kept: "
            + ", ".join(f"{who} → {why}" for who, why in self.rejected.items()),
            f"  reward-granted messages for the fulfilment system: {', '.join(self.granted)}",
            "",
        ]
        return "\n".join(lines)


class Bank(BankSystems):
    def opened(self, referee: str, code: str | None) -> None:
        payload = {
            "event_id": f"demo-open-{referee}",
            "bank_customer_id": referee,
            "referral_code": code,
            # Today (Asia/Shanghai), so the funnel of today counts the credits.
            "opened_at": datetime.now(SHANGHAI).isoformat(timespec="seconds"),
        }
        self.post("card_opened", payload).raise_for_status()


def _wait(ops: httpx.Client, path: str, ready: Any, timeout_s: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = ops.get(path)
        if r.status_code == 200:
            body = r.json()
            if ready(body):
                break
        time.sleep(0.1)
    return body


def play(cfg: StackConfig) -> ReferralSummary:
    ops = cfg.ops_client()
    bank, summary = Bank(cfg), ReferralSummary()
    r = ops.post("/ops/referral-codes", json={"bank_customer_id": REFERRER})
    r.raise_for_status()
    summary.code = r.json()["code"]
    friends = 0
    for step in STEPS:
        while friends < step:
            for _copy in range(2):  # the bank's system sends every event twice
                bank.opened(f"bc_demo_friend_{friends}", summary.code)
            summary.duplicates += 1
            friends += 1
        view = _wait(
            ops, f"/ops/referrers/{REFERRER}", lambda v, n=step: v["successful_invites"] >= n
        )
        tiers = [reward["tier"] for reward in view.get("rewards", [])]
        summary.climb.append((step, view.get("successful_invites", 0), tiers))
    typo = summary.code[:-1] + ("0" if summary.code[-1] != "0" else "1")
    for who, code in (("bc_demo_star", summary.code), ("bc_demo_typo", typo)):
        bank.opened(who, code)
        invite = _wait(ops, f"/ops/invites/{who}", lambda i: i["status"] != "pending")
        summary.rejected[who] = str(invite.get("reason"))
    summary.granted = _granted(cfg)
    return summary


def _granted(cfg: StackConfig) -> list[str]:
    os.environ.update(cfg.env())
    from google.cloud import pubsub_v1

    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(cfg.project, local_subscription("reward-granted"))
    found: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(found) < 4:
        response = subscriber.pull(request={"subscription": path, "max_messages": 50}, timeout=5)
        for received in response.received_messages:
            grant = json.loads(received.message.data)
            if grant["bank_customer_id"] == REFERRER:
                found.append(f"{grant['reward_id']} ({grant['points']} points)")
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": path,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
    return sorted(found, key=lambda g: int(g.split("-t")[1].split()[0]))
