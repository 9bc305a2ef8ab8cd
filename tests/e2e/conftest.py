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


# Personal values the e2e tests sent (names, birthdays, device and phone hashes): the last
# test of the suite finds none of them in the logs of siyu's own processes.
PERSONAL: dict[str, str] = {}
LOG_SCAN = "test_the_logs_of_siyus_processes_hold_no_personal_data"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The log scan runs after every other test, when the suite has sent everything."""
    scan = [item for item in items if item.name == LOG_SCAN]
    items[:] = [item for item in items if item.name != LOG_SCAN] + scan


@pytest.fixture
def personal() -> dict[str, str]:
    return PERSONAL


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


class Bus:
    """A pull subscription on wecom-events beside the worker's: what the callback published.

    Publishing finishes before the callback answers WeCom, so after a delivery returns, a
    drain of this subscription sees every event it caused; nothing is left to wait for."""

    def __init__(self, stack: StackConfig) -> None:
        import uuid

        import google.cloud.pubsub_v1 as pubsub_v1

        os.environ.update(stack.env())
        self._subscriber = pubsub_v1.SubscriberClient()
        topic = f"projects/{stack.project}/topics/wecom-events"
        self._path = self._subscriber.subscription_path(
            stack.project, f"wecom-events-probe-{uuid.uuid4().hex[:8]}"
        )
        self._subscriber.create_subscription(request={"name": self._path, "topic": topic})
        self._seen: list[dict] = []

    def drain(self) -> list[dict]:
        import json

        from google.api_core.exceptions import DeadlineExceeded

        while True:
            try:
                response = self._subscriber.pull(
                    request={"subscription": self._path, "max_messages": 500}, timeout=3
                )
            except DeadlineExceeded:
                break
            if not response.received_messages:
                break
            self._subscriber.acknowledge(
                request={
                    "subscription": self._path,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
            self._seen += [json.loads(m.message.data) for m in response.received_messages]
        return self._seen

    def published_for(self, external_userid: str) -> list[dict]:
        return [e for e in self.drain() if e.get("external_user_id") == external_userid]


@pytest.fixture(scope="session")
def bus(stack: StackConfig) -> Bus:
    return Bus(stack)


# What the worker logs when it is done with a message: handled, or dead-lettered.
_DONE = {
    "message handled",
    "poison message dead-lettered",
    "message dead-lettered after its last attempt",
}


def handled(stack: StackConfig, *message_ids: str) -> bool:
    """The drain barrier: the worker is done with every one of these Pub/Sub messages, so
    whatever they cause has happened and anything not seen now will not come from them."""
    import json

    log = stack.state_dir / "logs" / "worker.log"
    done = set()
    for line in log.read_text().splitlines() if log.exists() else []:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("message") in _DONE:
            done.add(str(entry.get("message_id")))
    return set(message_ids) <= done


def worker_logged(stack: StackConfig, *needles: str) -> bool:
    """The worker wrote a log line holding every needle (it handled that message)."""
    log = stack.state_dir / "logs" / "worker.log"
    if not log.exists():
        return False
    return any(all(n in line for n in needles) for line in log.read_text().splitlines())
