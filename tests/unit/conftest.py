"""The unit tier is pure logic: any socket connection or subprocess here is a test bug."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest


def _refuse(what: str) -> Any:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError(f"the unit tier may not {what}; move this test to another tier")

    return refuse


@pytest.fixture(autouse=True)
def _no_io(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _refuse("open a socket"))
    monkeypatch.setattr(socket, "create_connection", _refuse("open a socket"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a subprocess"))
    yield
