"""What the console's health panel shows: work stuck in dead-letter queues, when each
scheduled job last ran, and the operators' open tasks."""

from __future__ import annotations

from datetime import datetime

from siyu.domain.model import Model

PEEK_LIMIT = 1000  # dead letters counted per queue; `more` says there are at least this many


class DeadLetterCount(Model):
    topic: str
    waiting: int | None  # None: its `<topic>-dlq-ops` subscription is missing
    more: bool = False  # the count stopped at PEEK_LIMIT


class TickSeen(Model):
    """A scheduler job's last tick that its function handled (ticks/{topic})."""

    topic: str
    last_at: datetime


class Health(Model):
    at: datetime
    dead_letters: list[DeadLetterCount]
    ticks: list[TickSeen]
    open_tasks: int
