"""A repository wrapper for benchmarks: counts the Firestore documents its methods touch."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

Cost = int | Callable[[Any], int]  # documents per call, or computed from the result


class Counting:
    """Wraps a repository; each listed method adds its cost in documents read or written.

    The costs are the adapter's own: e.g. a conditional batch of an update and an
    increment writes 2 documents, a get_all of 3 slots reads 3.
    """

    def __init__(
        self,
        inner: Any,
        reads: Mapping[str, Cost] | None = None,
        writes: Mapping[str, Cost] | None = None,
    ) -> None:
        self._inner = inner
        self._reads = reads or {}
        self._writes = writes or {}
        self._lock = threading.Lock()
        self.read = 0
        self.written = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            with self._lock:
                self.read += _cost(self._reads.get(name, 0), result)
                self.written += _cost(self._writes.get(name, 0), result)
            return result

        return counted


def _cost(cost: Cost, result: Any) -> int:
    return cost(result) if callable(cost) else cost
