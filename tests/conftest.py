"""Shared fixtures: tier markers by folder, environment hygiene, emulators and the simulator."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from siyu.devstack import emulators
from siyu.devstack.procs import free_port, stop
from siyu.devstack.simulator import WeComSimulator, create_app, from_settings
from siyu.devstack.stack import LOCAL_IDENTIFIER_KEY, LOCAL_WECOM_SECRETS

# The local WeCom app's secrets, as the stack sets them (Settings has no secret defaults).
for _key, _value in LOCAL_WECOM_SECRETS.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("SIYU_IDENTIFIER_KEY", LOCAL_IDENTIFIER_KEY)

TIERS = ("unit", "infra", "functions", "integration", "e2e", "fuzz")
PROJECT = "siyu-test"
MEDIA_BUCKET = "siyu-test-media"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    """Every test starts from the same environment and freshly built clients (collection
    may have imported a function, whose import reads the settings)."""
    from siyu import bootstrap

    saved = dict(os.environ)
    bootstrap.reset()
    yield
    os.environ.clear()
    os.environ.update(saved)
    bootstrap.reset()


@dataclass
class Emulators:
    firestore_port: int
    pubsub_port: int
    storage_port: int

    def env(self) -> dict[str, str]:
        return {
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.firestore_port}",
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{self.pubsub_port}",
            "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{self.storage_port}",
            "SIYU_MEDIA_BUCKET": MEDIA_BUCKET,
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "SIYU_PROJECT": PROJECT,
        }


@pytest.fixture(scope="session")
def emulators_running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """Google's real Firestore and Pub/Sub emulators and a Cloud Storage emulator, once per
    test session."""
    logs = tmp_path_factory.mktemp("emulator-logs")
    fs_port, ps_port, gcs_port = free_port(), free_port(), free_port()
    pids = [emulators.start_firestore(fs_port, logs)]
    try:
        pids.append(emulators.start_pubsub(ps_port, logs))
        pids.append(emulators.start_storage(gcs_port, logs))
        emulators.create_bucket(gcs_port, PROJECT, MEDIA_BUCKET)
        yield Emulators(fs_port, ps_port, gcs_port)
    finally:
        for pid in pids:
            stop(pid)


@dataclass
class Sim:
    sim: WeComSimulator
    url: str

    def get(self, path: str) -> object:
        return httpx.get(f"{self.url}{path}", timeout=10).json()


@pytest.fixture(scope="session")
def simulator_running() -> Iterator[Sim]:
    """The WeCom simulator as a real HTTP server on loopback."""
    from siyu.config import Settings

    sim = from_settings(Settings(), callback_url="")
    port = free_port()
    server = make_server("127.0.0.1", port, create_app(sim), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Sim(sim, f"http://127.0.0.1:{port}")
    server.shutdown()


@dataclass
class Cloud:
    """One test's view of the emulators: a wiped database and unique topics."""

    emulators: Emulators
    topic: str
    subscription: str

    def pull(self, max_messages: int = 50, timeout: float = 5.0) -> list[object]:
        import google.cloud.pubsub_v1 as pubsub_v1

        subscriber = pubsub_v1.SubscriberClient()
        path = subscriber.subscription_path(PROJECT, self.subscription)
        response = subscriber.pull(
            request={"subscription": path, "max_messages": max_messages}, timeout=timeout
        )
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": path,
                    "ack_ids": [m.ack_id for m in response.received_messages],
                }
            )
        return [m.message for m in response.received_messages]

    def pull_dead_letters(self) -> list[object]:
        return Cloud(self.emulators, f"{self.topic}-dlq", f"{self.subscription}-dlq").pull()


@pytest.fixture
def cloud(emulators_running: Emulators, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """Point siyu at the emulators with a clean database and this test's own topics."""
    import google.cloud.pubsub_v1 as pubsub_v1

    for key, value in emulators_running.env().items():
        monkeypatch.setenv(key, value)
    emulators.wipe_firestore(emulators_running.firestore_port, PROJECT, ("(default)", "siyu-audit"))
    topic = f"wecom-events-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("SIYU_TOPIC_WECOM_EVENTS", topic)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    for name in (topic, f"{topic}-dlq"):
        publisher.create_topic(name=publisher.topic_path(PROJECT, name))
    subscription = f"{topic}-sub"
    for sub, top in ((subscription, topic), (f"{subscription}-dlq", f"{topic}-dlq")):
        subscriber.create_subscription(
            name=subscriber.subscription_path(PROJECT, sub),
            topic=publisher.topic_path(PROJECT, top),
        )
    return Cloud(emulators_running, topic, subscription)


@pytest.fixture
def wecom_sim(simulator_running: Sim, monkeypatch: pytest.MonkeyPatch) -> Sim:
    """A reset simulator with siyu's WeCom client pointed at it."""
    httpx.post(f"{simulator_running.url}/_sim/reset", timeout=5)
    httpx.post(
        f"{simulator_running.url}/_sim/config",
        json={
            "fault_rate": 0.0,
            "token_ttl_s": 7200,
            "welcome_window_s": 20.0,
            "resigned_members": [],
            "non_members": [],
            "groupmsg_dispatch_s": 0.0,
            "mass_limit": "month",
            "time_offset_s": 0.0,
        },
        timeout=5,
    )
    monkeypatch.setenv("SIYU_WECOM_API_BASE", f"{simulator_running.url}/cgi-bin")
    return simulator_running
