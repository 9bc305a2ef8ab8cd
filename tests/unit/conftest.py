"""The unit tier is pure logic: any socket connection or subprocess here is a test bug."""

from __future__ import annotations

import pytest

from tests.isolation import refuse_io


@pytest.fixture(autouse=True)
def _no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_io(monkeypatch, "the unit tier")
