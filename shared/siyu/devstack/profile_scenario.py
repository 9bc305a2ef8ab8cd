"""The demo's profile act: a new customer buys twice, answers a questionnaire, stops a loan
application half-way; staff see the tags in WeCom and get their follow-ups when due."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from siyu.devstack.bank import BankSystems
from siyu.devstack.scheduler import tick
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until

BANK_ID, EXT, STAFF = "bc_demo_li", "wm_demo_li", "zhaoliu"


@dataclass
class ProfileSummary:
    stages: list[tuple[str, str, str]] = field(default_factory=list)  # (after, stage, segment)
    wecom_tags: list[str] = field(default_factory=list)
    due: list[tuple[str, str, str]] = field(default_factory=list)  # (when, reason, detail)
    reminders: list[tuple[str, str]] = field(default_factory=list)  # (tick as of, message)
    duplicate_purchases: int = 0

    def render(self) -> str:
        return "\n".join(
            [
                f"Customer profile, tags and follow-ups ({BANK_ID} ↔ WeCom {EXT} of {STAFF}):",
                *[
                    f"  after {after:<32} stage {stage:<15} segment {segment}"
                    for after, stage, segment in self.stages
                ],
                f"  (one purchase sent twice: counted {self.duplicate_purchases} time)",
                "  Tags staff see in WeCom (mark_tag, rules + layers): "
                + "、".join(self.wecom_tags),
                "  Follow-up tasks (GET /ops/followups):",
                *[f"    due {when}  [{reason}] {detail}" for when, reason, detail in self.due],
                "  WeCom app messages from on_followup_tick (message/send):",
                *[
                    f"    tick as of {when}: {text.splitlines()[0]} "
                    + " / ".join(text.splitlines()[1:])
                    for when, text in self.reminders
                ],
                "",
            ]
        )


def play(cfg: StackConfig) -> ProfileSummary:
    ops, bank, summary = cfg.ops_client(), BankSystems(cfg), ProfileSummary()
    sim = httpx.Client(base_url=cfg.simulator_url, timeout=30)
    now = datetime.now(UTC)
    sim.post(
        "/_sim/emit",
        json={
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": STAFF,
            "ExternalUserID": EXT,
            "Name": "李女士",
        },
    ).raise_for_status()
    until(lambda: ops.get(f"/ops/customers/{EXT}").status_code == 200)
    ops.put(f"/ops/bank-customers/{BANK_ID}", json={"external_userid": EXT}).raise_for_status()

    def state() -> dict[str, Any]:
        return dict(ops.get(f"/ops/bank-customers/{BANK_ID}").json())

    def send(kind: str, event_id: str, **payload: Any) -> None:
        body = {"event_id": event_id, "bank_customer_id": BANK_ID, **payload}
        bank.post(kind, body).raise_for_status()

    def record(after: str, wanted: Callable[[dict[str, Any]], bool]) -> None:
        seen = until(lambda: (s := state()) and wanted(s) and s) or state()
        summary.stages.append((after, seen.get("stage", "?"), seen.get("segment") or "—"))

    send("profile", "demo-li-profile", age=34, aum_band="100-500万")
    record("profile (34, 100-500万)", lambda s: s["profile"]["age"] == 34)
    at = now.isoformat()
    for _copy in range(2):  # the bank's system sends it twice
        send("purchase", "demo-li-p1", product="fund", amount="3000.00", occurred_at=at)
    record("purchase 1 (fund 3,000)", lambda s: s["aggregates"]["purchase_count"] >= 1)
    send("purchase", "demo-li-p2", product="gold", amount="2500.00", occurred_at=at)
    record("purchase 2 (gold 2,500)", lambda s: s["aggregates"]["purchase_count"] >= 2)
    summary.duplicate_purchases = state()["aggregates"]["purchase_count"] - 1
    send("questionnaire", "demo-li-q1", questionnaire_id="risk", answers={"appetite": "进取"})
    send("questionnaire", "demo-li-q2", questionnaire_id="interest", answers={"topics": ["基金"]})
    send(
        "journey_abandoned",
        "demo-li-j1",
        journey="loan_application",
        step="上传收入证明",
        occurred_at=at,
    )
    record("questionnaires, loan abandoned", lambda s: len(s["answers"]) == 2)
    summary.wecom_tags = until(lambda: (t := _tags(sim)) and "意向/贷款意向" in t and t) or []
    tasks = until(lambda: len(t := _followups(ops)) >= 3 and t) or []
    summary.due = [
        (_when(t["due_at"], now), t["reason"], t["detail"])
        for t in sorted(tasks, key=lambda t: t["due_at"])
    ]
    for ahead in (timedelta(minutes=20), timedelta(days=3, minutes=20)):
        tick(cfg, "on_followup_tick", as_of=now + ahead)
        seen = len(summary.reminders)
        new = until(functools.partial(_messages, sim, since=seen)) or []
        summary.reminders += [(f"+{_span(ahead)}", m["text"]) for m in new]
    return summary


def _tags(sim: httpx.Client) -> list[str]:
    contact = sim.get(f"/_sim/contacts/{EXT}").json()
    follow: dict[str, Any] = next(
        (f for f in contact.get("follow_user", []) if f["userid"] == STAFF), {}
    )
    return sorted(f"{t['group_name']}/{t['tag_name']}" for t in follow.get("tags", []))


def _messages(sim: httpx.Client, since: int) -> list[dict[str, Any]]:
    return list(sim.get("/_sim/messages", params={"touser": STAFF}).json())[since:]


def _followups(ops: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for status in ("open", "sent"):
        found += ops.get("/ops/followups", params={"staff": STAFF, "status": status}).json()
    return found


def _when(due_at: str, now: datetime) -> str:
    return "+" + _span(datetime.fromisoformat(due_at) - now)


def _span(delta: timedelta) -> str:
    delta = timedelta(minutes=round(delta.total_seconds() / 60))
    if delta < timedelta(hours=1):
        return "now" if delta < timedelta(minutes=1) else f"{delta.seconds // 60} min"
    return (
        f"{delta.days} d {delta.seconds // 3600} h" if delta.days else f"{delta.seconds // 3600} h"
    )
