"""Refuse sockets and subprocesses: for tests that claim to need neither."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import pytest


def _refuse(what: str, where: str) -> Any:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError(f"{where} may not {what}; use the emulators' fixtures or move it")

    return refuse


def refuse_io(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse("open a socket", where))
    monkeypatch.setattr(socket, "create_connection", _refuse("open a socket", where))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a subprocess", where))
