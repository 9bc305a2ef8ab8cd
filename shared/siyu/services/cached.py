"""A value an instance may hold for a while before reading it again."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from siyu.ports import Clock

T = TypeVar("T")


class Cached(Generic[T]):
    """`get()` returns what `load` built within the last `ttl_s` seconds (monotonic clock),
    else loads again; `forget()` after this instance changes what `load` reads. Loads run
    outside the lock: two threads may both load once, neither waits on the other's I/O."""

    def __init__(self, load: Callable[[], T], clock: Clock, ttl_s: float) -> None:
        self._load = load
        self._clock = clock
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._held: tuple[float, T] | None = None

    def get(self) -> T:
        now = self._clock.monotonic()
        with self._lock:
            if self._held is not None and now - self._held[0] < self._ttl_s:
                return self._held[1]
        value = self._load()
        with self._lock:
            self._held = (now, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._held = None
