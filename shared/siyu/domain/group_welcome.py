"""A benefit group's welcome (入群欢迎语, 92366): ops write the greeting, siyu lists the group's
benefits from the active campaigns that target it, so the list never goes stale."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from siyu.domain.campaigns import (
    MEAL_LABELS,
    WEEKDAY_LABELS,
    Campaign,
    Daily,
    GroupAudience,
    Holiday,
    Meal,
    Monthly,
    Weekly,
)
from siyu.domain.content import Attachment
from siyu.domain.groups import Group, GroupWelcomeSpec

MAX_TEMPLATE_BYTES = 3_000  # text.content of a group welcome template (92366)
HEADING = "本群福利："


def when(campaign: Campaign) -> str:
    """A schedule in a customer's words."""
    schedule = campaign.schedule
    if isinstance(schedule, Daily):
        return f"{'工作日' if schedule.workdays_only else '每天'} {schedule.at}"
    if isinstance(schedule, Weekly):
        days = "、".join(WEEKDAY_LABELS[d - 1] for d in sorted(schedule.weekdays))
        return f"每周{days} {schedule.at}"
    if isinstance(schedule, Monthly):
        days = "、".join("月末" if d == "last" else f"{d}日" for d in schedule.days)
        return f"每月{days} {schedule.at}"
    if isinstance(schedule, Holiday):
        return "法定节假日"
    if isinstance(schedule, Meal):
        return "、".join(MEAL_LABELS[m] for m in schedule.meals) + "时段"
    return "生日当天"


def benefits(campaigns: list[Campaign], group: Group, today: date) -> list[str]:
    """The campaigns sent to this group that have not ended, by priority then name."""
    running = [
        c
        for c in campaigns
        if c.enabled
        and isinstance(c.audience, GroupAudience)
        and c.audience.admits(group)
        and (c.active_to is None or c.active_to >= today)
    ]
    running.sort(key=lambda c: (-c.priority, c.name))
    return [f"· {c.name}（{when(c)}）" for c in running]


def render(spec: GroupWelcomeSpec, lines: list[str]) -> str:
    """The template's text within WeCom's 3,000 bytes: lines that do not fit are summed up."""
    if not lines:
        return spec.intro
    text = f"{spec.intro}\n\n{HEADING}"
    for n, line in enumerate(lines):
        rest = len(lines) - n - 1
        tail = f"\n…等共{len(lines)}项福利" if rest else ""
        if len(f"{text}\n{line}{tail}".encode()) > MAX_TEMPLATE_BYTES:
            return f"{text}\n…等共{len(lines)}项福利"
        text = f"{text}\n{line}"
    return text


def fingerprint(text: str, attachment: Attachment | None) -> str:
    """What the template in WeCom says; unchanged means no call."""
    shown = {"text": text, "attachment": attachment.model_dump() if attachment else None}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()[:32]
