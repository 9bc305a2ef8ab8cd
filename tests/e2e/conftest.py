"""The whole local stack, started with `siyu up` exactly as `make up` does, on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from google.cloud import firestore

from siyu.devstack.stack import StackConfig


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    cfg = StackConfig.on_free_ports(tmp_path_factory.mktemp("stack"), "siyu-e2e")
    env = {**os.environ, **cfg.control_env()}
    cli = [sys.executable, "-m", "siyu.cli"]
    up = subprocess.run([*cli, "up"], env=env, capture_output=True, text=True, timeout=180)
    assert up.returncode == 0, up.stderr
    try:
        yield cfg
    finally:
        down = subprocess.run([*cli, "down"], env=env, capture_output=True, text=True, timeout=60)
        assert down.returncode == 0, down.stderr


@pytest.fixture
def sim(stack: StackConfig) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=stack.simulator_url, timeout=30)
    client.post("/_sim/config", json={"fault_rate": 0.0}).raise_for_status()
    yield client
    client.post("/_sim/config", json={"fault_rate": 0.0})


@pytest.fixture
def ops(stack: StackConfig) -> httpx.Client:
    return httpx.Client(
        base_url=stack.gateway_url,
        timeout=15,
        headers={"Authorization": f"Bearer {stack.env()['SIYU_OPS_TOKEN']}"},
    )


@pytest.fixture
def db(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> firestore.Client:
    """The stack's Firestore, read directly (what no ops route shows)."""
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    return firestore.Client(project=stack.project)
