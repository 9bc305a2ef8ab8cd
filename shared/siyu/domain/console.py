"""What the console's forms offer: the same lists the models validate against, so a form
never offers a value the API would refuse."""

from __future__ import annotations

from siyu.domain.calendar import HOLIDAY_LABELS
from siyu.domain.campaigns import TEMPLATE_VARS
from siyu.domain.funnel import STEPS, Milestone
from siyu.domain.layering import SEGMENTS, STAGE_NAMES
from siyu.domain.model import Model


class ConsoleConfig(Model):
    group_join_limit: int  # QR joins stop here: a group's capacity bar fills at it
    banned_words: list[str]
    milestones: list[str]
    steps: list[str]  # "welcomed/added": the funnel's conversion keys, in order
    stages: dict[str, str]  # value → label
    segments: list[str]
    holidays: dict[str, str]
    template_vars: list[str]


def console_config(group_join_limit: int, banned_words: list[str]) -> ConsoleConfig:
    return ConsoleConfig(
        group_join_limit=group_join_limit,
        banned_words=banned_words,
        milestones=[m.value for m in Milestone],
        steps=[f"{after.value}/{before.value}" for before, after in STEPS],
        stages={s.value: label for s, label in STAGE_NAMES.items()},
        segments=sorted(set(SEGMENTS.values())),
        holidays=dict(HOLIDAY_LABELS),
        template_vars=list(TEMPLATE_VARS),
    )
