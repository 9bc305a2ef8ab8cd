"""Waiting for the asynchronous stack: poll until something shows up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(probe: Callable[[], Any], timeout_s: float = 20, every_s: float = 0.2) -> Any:
    """Poll until `probe` returns something truthy; its last value otherwise."""
    deadline = time.monotonic() + timeout_s
    value = probe()
    while not value and time.monotonic() < deadline:
        time.sleep(every_s)
        value = probe()
    return value
