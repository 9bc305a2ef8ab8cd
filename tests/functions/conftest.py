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
from siyu.domain.access import Branch, Staff
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


@pytest.fixture
def ops(fakes, monkeypatch):
    """ops_api on fakes with three branches, two staff members and three WeCom groups;
    callers sign in (test_ops_identity.sign_in) or send the local token."""
    monkeypatch.setenv("SIYU_OPS_TOKEN", "test-ops")
    monkeypatch.setenv("SIYU_SESSION_SECRET", "test-session-secret")
    monkeypatch.setenv("SIYU_FIRST_ADMIN", "boss")
    monkeypatch.setenv("SIYU_OPS_LOGIN_REDIRECT", "https://ops.bank.example/ops/login/callback")
    fakes.install()
    at = fakes.clock.now()
    for branch in (
        Branch(id="sh", name="上海分行"),
        Branch(id="sh-pd", name="浦东支行", parent="sh"),
        Branch(id="bj", name="北京分行"),
    ):
        fakes.branches.put(branch)
    for chat_id in ("wrA", "wrB", "wrC"):
        fakes.wecom.chats[chat_id] = {"name": "福利群", "member_list": [], "member_version": "v1"}
    for userid, works_for in (("zhangsan", "sh-pd"), ("lisi", "bj")):
        fakes.staff.put(Staff(userid=userid, branch=works_for, updated_at=at))
    return app("ops_api").test_client(use_cookies=False)  # each call sends its own
