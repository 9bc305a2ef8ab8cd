"""The whole local stack, started with `siyu up` exactly as `make up` does, on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from siyu.devstack.procs import free_port
from siyu.devstack.stack import StackConfig


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    cfg = StackConfig(
        state_dir=tmp_path_factory.mktemp("stack"),
        project="siyu-e2e",
        gateway_port=free_port(),
        simulator_port=free_port(),
        firestore_port=free_port(),
        pubsub_port=free_port(),
    )
    env = {
        **os.environ,
        "SIYU_STATE_DIR": str(cfg.state_dir),
        "SIYU_PROJECT": cfg.project,
        "SIYU_PORT": str(cfg.gateway_port),
        "SIYU_SIM_PORT": str(cfg.simulator_port),
        "SIYU_FIRESTORE_PORT": str(cfg.firestore_port),
        "SIYU_PUBSUB_PORT": str(cfg.pubsub_port),
    }
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
