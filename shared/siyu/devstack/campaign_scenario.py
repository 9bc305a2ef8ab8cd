"""The demo's campaign act: a New Year's Eve campaign that waits for the next year's
calendar, two lunch-time campaigns competing for the same groups, staff confirming in the
simulator."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import httpx

from siyu.devstack.calendar_load import demo_year, known_years, load_years, new_years_eve
from siyu.devstack.card_scenario import OWNER
from siyu.devstack.scheduler import tick
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until
from siyu.domain.campaigns import SHANGHAI

DEMO_SOURCE = "DEMO DATA for make run, not the State Council schedule"
CAMPAIGNS: dict[str, dict[str, Any]] = {
    "demo_newyear": {
        "name": "元旦福利",
        "schedule": {"kind": "holiday", "holidays": ["new_years_day"], "on": "eve", "at": "20:00"},
        "priority": 80,
        "audience": {"kind": "groups", "cities": ["上海"]},
        "content": {
            "text": "{holiday}前夜，{campaign}：今晚8点群内抢新年消费券！",
            "attachments": [
                {
                    "msgtype": "link",
                    "link": {"title": "新年消费券", "url": "https://bank.example/newyear"},
                }
            ],
        },
    },
    "demo_lunch": {
        "name": "午餐五折",
        "schedule": {"kind": "meal", "meals": ["lunch"], "workdays_only": True},
        "priority": 60,
        "audience": {"kind": "groups", "tags": ["午餐"]},
        "content": {"text": "{date}{meal}时间到：{campaign}，附近门店刷卡立享"},
    },
    "demo_wednesday": {
        "name": "周三会员日",
        "schedule": {"kind": "weekly", "weekdays": [3], "at": "11:30"},
        "priority": 30,
        "audience": {"kind": "groups", "cities": ["上海"]},
        "content": {"text": "{weekday}{campaign}：全场满100减20"},
    },
}


@dataclass
class CampaignSummary:
    refused: str = ""
    gap_year: int = 0
    gap_task: str = ""
    loaded: list[str] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [
            "Benefit campaigns (PUT /ops/campaigns, on_campaign_tick → campaign-batches → 群发):",
            f"  Refused when saved: {self.refused}",
            f"  New Year's Eve tick before {self.gap_year}'s calendar: no run, ops task "
            f"{self.gap_task}",
            *[f"  siyu calendar load: {line}" for line in self.loaded],
        ]
        for campaign_id, run in self.runs.items():
            capped = (
                f", {run['capped']} capped (already had today's 群发 from "
                + ", ".join(run["capped_by"])
                + ")"
                if run["capped"]
                else ""
            )
            lines.append(
                f"  {CAMPAIGNS[campaign_id]['name']} {run['occurrence']['key']}: "
                f"audience {run['audience']} groups{capped}, batches {run['batches']}, "
                f"tasks {run['tasks_created']}, confirmed by staff {run['confirmed']}, "
                f"delivered to {run['delivered']}"
            )
            if campaign_id in self.samples:
                lines.append(f"    “{self.samples[campaign_id]}”")
        return "\n".join([*lines, ""])


def next_weekday_at(now: datetime, weekday: int, at: time) -> datetime:
    """The first `weekday` (Monday 0) after today, at `at` in now's time zone."""
    days = (weekday - now.weekday() - 1) % 7 + 1
    return datetime.combine(now.date() + timedelta(days=days), at, now.tzinfo)


def _load_demo(cfg: StackConfig, year: int) -> list[str]:
    """A demo year through `siyu calendar load FILE`, as ops load an official one."""
    path = cfg.state_dir / f"calendar-{year}-demo.json"
    path.write_text(demo_year(year, DEMO_SOURCE).model_dump_json(indent=2))
    return load_years(cfg, str(path))


def _followed(run_of: Callable[[str], dict[str, Any]], campaign_id: str) -> bool:
    run = run_of(campaign_id)
    return bool(run) and run["confirmed"] == run["tasks_created"]


def play(cfg: StackConfig) -> CampaignSummary:
    ops, summary = cfg.ops_client(), CampaignSummary()
    sim = httpx.Client(base_url=cfg.simulator_url, timeout=30)
    refused = ops.put(
        "/ops/campaigns/demo_bad",
        json={
            **CAMPAIGNS["demo_lunch"],
            "active_from": "2026-11-01",
            "content": {"text": "理财节：保本稳赚，零风险"},
        },
    )
    summary.refused = f"HTTP {refused.status_code}, banned claims {refused.json().get('words')}"
    for campaign_id, spec in CAMPAIGNS.items():
        ops.put(
            f"/ops/campaigns/{campaign_id}", json={**spec, "active_from": "2026-11-01"}
        ).raise_for_status()

    def run_of(campaign_id: str) -> dict[str, Any]:
        found = ops.get(f"/ops/campaigns/{campaign_id}/runs").json()
        return dict(found[0]) if found else {}

    def confirm_and_follow(as_of: datetime, campaign_ids: list[str]) -> None:
        until(lambda: all(run_of(c).get("status") == "batched" for c in campaign_ids))
        until(lambda: all(run_of(c)["tasks_created"] == run_of(c)["batches"] for c in campaign_ids))
        confirm = {"userid": OWNER, "day": as_of.date().isoformat()}
        sim.post("/_sim/groupmsg/confirm", json=confirm).raise_for_status()
        tick(cfg, "on_campaign_tick", as_of=as_of + timedelta(minutes=6))
        for campaign_id in campaign_ids:
            until(functools.partial(_followed, run_of, campaign_id))
            summary.runs[campaign_id] = run_of(campaign_id)

    # Lunch next Wednesday: two campaigns want the same Shanghai groups. (A tick's as_of
    # before the clock is ignored, so the days are found from today.) A year neither the
    # package nor ops know yet gets demo data first: the lunch needs its workdays, and the
    # eve (later the same year) its holidays.
    lunch = next_weekday_at(datetime.now(SHANGHAI), weekday=2, at=time(11, 31))
    eve = new_years_eve(lunch)
    if lunch.year not in known_years(cfg):
        summary.loaded += _load_demo(cfg, lunch.year)
    tick(cfg, "on_campaign_tick", as_of=lunch)
    confirm_and_follow(lunch, ["demo_lunch", "demo_wednesday"])
    # New Year's Eve: the next year's official schedule is needed and not known yet.
    summary.gap_year = eve.year + 1
    tick(cfg, "on_campaign_tick", as_of=eve)
    task = until(
        lambda: next(
            (t for t in ops.get("/ops/tasks").json() if t["kind"] == "calendar_missing"), None
        )
    )
    summary.gap_task = f"“{task['detail']}”" if task else "(none)"
    summary.loaded += _load_demo(cfg, summary.gap_year)
    preview = ops.post("/ops/campaigns/demo_newyear/preview").json()
    summary.samples["demo_newyear"] = preview["sample"]
    tick(cfg, "on_campaign_tick", as_of=eve + timedelta(minutes=1))
    confirm_and_follow(eve, ["demo_newyear"])
    return summary
