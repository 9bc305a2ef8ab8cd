"""The fuzz tier: every route hit with mutated and random input; the tally is reported."""

from __future__ import annotations

from collections import Counter

import pytest

TALLY: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY["requests"]:
        terminalreporter.write_line(
            f"fuzz: {TALLY['requests']} requests, {TALLY['refused']} refused (4xx) with "
            f"nothing written, {TALLY['5xx']} answered 5xx"
        )
