"""The function tier: entry points through functions-framework's create_app.

Checks of what a function refuses run on the production wiring over fakes (`fakes`), with
no emulator; checks of what it stores use the emulators (`cloud`, `wecom_sim`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from functions_framework import create_app

from siyu.devstack.registry import FUNCTIONS
from tests.fakes import FakeClock, FakeCloud
from tests.isolation import refuse_io


def app(name: str) -> Flask:
    """One function as functions-framework serves it (importing its main.py)."""
    spec = next(f for f in FUNCTIONS if f.name == name)
    return create_app(name, str(spec.source), spec.signature)


def client(name: str) -> FlaskClient:
    return app(name).test_client()


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> FakeCloud:
    """Every adapter faked and no socket allowed; call `fakes.install()` once the
    environment is set."""
    refuse_io(monkeypatch, "a test on fakes")
    # Signed requests carry the real time; the replay window compares it with this clock.
    return FakeCloud(clock=FakeClock(datetime.now(UTC)))
