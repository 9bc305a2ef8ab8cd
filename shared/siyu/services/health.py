"""The health panel's figures, and the heartbeat each scheduled function leaves."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from siyu.domain.health import PEEK_LIMIT, DeadLetterCount, Health, TickSeen
from siyu.ports import Clock, DeadLetterGauge, OpsTaskRepo, TickLog
from siyu.services.cached import Cached

M = TypeVar("M")
GAUGE_TTL_S = 30.0  # counting pulls every queue: a dashboard refresh does not do it again


class HealthCheck:
    def __init__(
        self,
        gauge: DeadLetterGauge,
        ticks: TickLog,
        tasks: OpsTaskRepo,
        topics: list[str],
        clock: Clock,
    ) -> None:
        self._gauge = gauge
        self._ticks = ticks
        self._tasks = tasks
        self._topics = topics
        self._clock = clock
        self._dead = Cached(self._count_dead, clock, GAUGE_TTL_S)

    def report(self) -> Health:
        return Health(
            at=self._clock.now(),
            dead_letters=self._dead.get(),
            ticks=sorted(self._ticks.all(), key=lambda t: t.topic),
            open_tasks=len(self._tasks.list_open()),
        )

    def _count_dead(self) -> list[DeadLetterCount]:
        with ThreadPoolExecutor(max(1, len(self._topics))) as pool:
            counts = list(pool.map(lambda t: self._gauge.waiting(t, PEEK_LIMIT), self._topics))
        return [
            DeadLetterCount(topic=t, waiting=n, more=n is not None and n >= PEEK_LIMIT)
            for t, n in zip(self._topics, counts, strict=True)
        ]


def heartbeat(
    ticks: TickLog, topic: str, handler: Callable[[M], object], clock: Clock
) -> Callable[[M], object]:
    """`handler`, then the tick noted as handled (a failed tick leaves the last good one)."""

    def beat(message: M) -> object:
        result = handler(message)
        ticks.beat(TickSeen(topic=topic, last_at=clock.now()))
        return result

    return beat
