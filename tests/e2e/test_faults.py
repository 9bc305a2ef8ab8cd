"""A flaky platform: a dead process, a poison message, dead letters replayed, a worker
killed while 200 callbacks flow. Nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import google.cloud.pubsub_v1 as pubsub_v1
import httpx
import pytest

from siyu.adapters.dead_letters import DeadLetter, list_dead
from siyu.devstack import stack as stack_module
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until
from siyu.domain.events import WeComEvent

from .test_callback_path import add, unique, welcomes_for
from .test_ops_cli import siyu


@pytest.fixture
def cloud_env(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> StackConfig:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    return stack


def listed_ids(stack: StackConfig, topic: str) -> list[str]:
    """The message ids `siyu dlq list` prints, one per letter at the start of its line."""
    out = siyu(stack, "dlq", "list", topic).stdout.splitlines()
    return [line.split()[0] for line in out[:-1] if line and not line.startswith(" ")]


def worker_pid(stack: StackConfig) -> int:
    info = stack_module.load(stack.state_dir)
    assert info is not None
    return info.pids["worker"]


def test_the_state_file_is_private_and_up_prints_no_secret(stack: StackConfig) -> None:
    mode = stat.S_IMODE((stack.state_dir / "stack.json").stat().st_mode)
    assert mode == 0o600
    again = siyu(stack, "up")  # the running stack answers with what it is
    assert again.returncode == 0
    secrets = [stack.env()["SIYU_OPS_TOKEN"], *stack.env()["SIYU_PARTNER_KEYS"].split(",")]
    assert not any(s in again.stdout + again.stderr for s in secrets)
    status = siyu(stack, "status")
    assert status.returncode == 0 and "worker" in status.stdout
    assert not any(s in status.stdout for s in secrets)


def test_a_dead_worker_is_seen_restarted_and_its_events_arrive(stack, sim, ops) -> None:
    os.kill(worker_pid(stack), signal.SIGKILL)
    assert until(lambda: siyu(stack, "status").returncode == 1, timeout_s=10)
    assert "dead" in siyu(stack, "status").stdout
    ext = unique("wm")
    result = add(sim, ext, WelcomeCode="")  # the gateway still answers WeCom
    assert result["deliveries"][0]["status"] == 200
    restarted = siyu(stack, "restart", "worker")
    assert restarted.returncode == 0, restarted.stderr
    assert siyu(stack, "status").returncode == 0
    # Pub/Sub redelivers what the dead worker never acknowledged (backoff ≥ 10 s).
    assert until(lambda: ops.get(f"/ops/customers/{ext}").status_code == 200, timeout_s=90)


def test_dead_letters_are_listed_and_replayed_once(cloud_env: StackConfig, ops) -> None:
    ext = unique("wm")
    event = WeComEvent(
        event="change_external_contact",
        change_type="add_external_contact",
        create_time=int(time.time()),
        user_id="zhangsan",
        external_user_id=ext,
        raw_sha256=uuid.uuid4().hex,
    )
    publisher = pubsub_v1.PublisherClient()
    dlq = publisher.topic_path(cloud_env.project, "wecom-events-dlq")
    message_id = publisher.publish(
        dlq, event.model_dump_json().encode(), reason="failed 5 deliveries: TransientError: x"
    ).result(timeout=10)
    listed = siyu(cloud_env, "dlq", "list", "wecom-events")
    assert listed.returncode == 0 and message_id in listed_ids(cloud_env, "wecom-events")
    assert "failed 5 deliveries" in listed.stdout
    replayed = siyu(cloud_env, "dlq", "replay", "wecom-events", "--id", message_id)
    assert replayed.returncode == 0 and message_id in replayed.stdout
    assert until(lambda: ops.get(f"/ops/customers/{ext}").status_code == 200, timeout_s=30)
    assert message_id not in listed_ids(cloud_env, "wecom-events")
    again = siyu(cloud_env, "dlq", "replay", "wecom-events", "--id", message_id)
    assert again.returncode == 1  # gone from the queue: nothing replayed twice
    assert len(ops.get(f"/ops/customers/{ext}").json()["relations"]) == 1


def test_a_poison_message_on_an_ordered_push_subscription_does_not_stop_the_others(
    cloud_env: StackConfig, sim, ops
) -> None:
    """The emulator's push loop dies when it dead-letters an ordered message itself; the
    handler dead-letters on the last attempt first, so the loop goes on."""
    broken = unique("wr")
    sim.post("/_sim/config", json={"broken_chats": [broken]}).raise_for_status()
    publisher = pubsub_v1.PublisherClient(
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True)
    )
    subscriber = pubsub_v1.SubscriberClient()
    probe = f"poison-probe-{uuid.uuid4().hex[:8]}"
    topic, dead = (publisher.topic_path(cloud_env.project, t) for t in (probe, f"{probe}-dlq"))
    publisher.create_topic(name=topic)
    publisher.create_topic(name=dead)
    endpoint = (
        f"{cloud_env.worker_url}/_push/on_wecom_event/projects/{cloud_env.project}/topics/{probe}"
    )
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(cloud_env.project, f"{probe}-push"),
            "topic": topic,
            "push_config": {"push_endpoint": endpoint},
            "enable_message_ordering": True,
            "ack_deadline_seconds": 60,
            "dead_letter_policy": {"dead_letter_topic": dead, "max_delivery_attempts": 5},
            # Short waits so the test is quick; the mechanism is the stack's.
            "retry_policy": {"minimum_backoff": {"seconds": 1}, "maximum_backoff": {"seconds": 2}},
        }
    )

    def publish(event: WeComEvent) -> str:
        data = event.model_dump_json().encode()
        return str(
            publisher.publish(topic, data, ordering_key=event.ordering_key).result(timeout=10)
        )

    now = int(time.time())
    poison = WeComEvent(
        event="change_external_chat",
        change_type="create",
        create_time=now,
        chat_id=broken,
        raw_sha256=uuid.uuid4().hex,
    )
    first, second = unique("wm"), unique("wm")
    valid = [
        WeComEvent(
            event="change_external_contact",
            change_type="add_external_contact",
            create_time=now,
            user_id="zhangsan",
            external_user_id=ext,
            raw_sha256=uuid.uuid4().hex,
        )
        for ext in (first, second)
    ]
    poison_id = publish(poison)
    publish(valid[0])
    assert until(lambda: ops.get(f"/ops/customers/{first}").status_code == 200, timeout_s=30)

    def dead_letter() -> DeadLetter | None:
        letters = list_dead(cloud_env.project, "wecom-events")
        return next((d for d in letters if broken.encode() in d.data), None)

    letter = until(dead_letter, timeout_s=90, every_s=2)
    assert letter is not None, f"poison {poison_id} never reached wecom-events-dlq"
    assert letter.reason.startswith("failed 5 deliveries")
    publish(valid[1])  # the push loop is still alive after the poison
    assert until(lambda: ops.get(f"/ops/customers/{second}").status_code == 200, timeout_s=30)
    sim.post("/_sim/config", json={"broken_chats": []}).raise_for_status()


def test_a_worker_killed_while_200_adds_flow_loses_nothing(stack, sim, ops) -> None:
    exts = [unique("wm") for _ in range(200)]
    results: dict[str, dict[str, Any]] = {}
    killed = threading.Event()

    def one(ext: str) -> None:
        results[ext] = add(sim, ext)
        if len(results) == 60 and not killed.is_set():
            killed.set()
            os.kill(worker_pid(stack), signal.SIGKILL)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, exts))
        assert killed.is_set()
    restarted = siyu(stack, "restart", "worker")
    assert restarted.returncode == 0, restarted.stderr
    answered = [e for e, r in results.items() if r["deliveries"][0]["status"] == 200]
    unanswered = sorted(set(exts) - set(answered))
    # WeCom retries what it was not answered; the simulator reports each try.
    assert all(results[e]["deliveries"][0]["tries"] == 3 for e in unanswered)

    left = list(answered)

    def all_recorded() -> bool:
        left[:] = [e for e in left if ops.get(f"/ops/customers/{e}").status_code != 200]
        return not left

    assert until(all_recorded, timeout_s=240, every_s=2), f"{len(left)} adds never recorded"
    for ext in answered:
        customer = ops.get(f"/ops/customers/{ext}").json()
        assert len(customer["relations"]) == 1
    welcomed = httpx.get(f"{stack.simulator_url}/_sim/welcomes", timeout=30).json()
    per_ext: dict[str, int] = {}
    for w in welcomed:
        per_ext[w["external_userid"]] = per_ext.get(w["external_userid"], 0) + 1
    assert all(per_ext.get(e, 0) <= 1 for e in exts)
    assert sum(1 for e in answered if per_ext.get(e)) >= len(answered) * 0.9
    assert welcomes_for(sim, exts[0]) is not None
