"""`siyu up` / `siyu down`: start the whole local stack in the background, stop it by PID."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from siyu.devstack import emulators
from siyu.devstack.procs import StackError, alive, free_port, port_open, spawn, stop, wait_http
from siyu.devstack.registry import FUNCTIONS, OUTBOUND_TOPICS, ROOT, dead_letter
from siyu.domain.partner_auth import parse_keys

LOCAL_OPS_TOKEN = "local-ops-token"
# HMAC keys of the local stack's machine callers: the card-alert system and the bank.
LOCAL_PARTNER_KEYS = (
    "local-cards:local-card-alert-secret-0001,local-bank:local-bank-events-secret-0001"
)
MAX_DELIVERY_ATTEMPTS = 5


@dataclass
class StackConfig:
    state_dir: Path = ROOT / ".siyu"
    project: str = "siyu-local"
    gateway_port: int = 8080
    simulator_port: int = 8090
    firestore_port: int = 8081
    pubsub_port: int = 8085
    fault_rate: float = 0.0

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        return cls(
            state_dir=Path(env.get("SIYU_STATE_DIR", ROOT / ".siyu")),
            project=env.get("SIYU_PROJECT", "siyu-local"),
            gateway_port=int(env.get("SIYU_PORT", 8080)),
            simulator_port=int(env.get("SIYU_SIM_PORT", 8090)),
            firestore_port=int(env.get("SIYU_FIRESTORE_PORT", 8081)),
            pubsub_port=int(env.get("SIYU_PUBSUB_PORT", 8085)),
            fault_rate=float(env.get("SIYU_SIM_FAULT_RATE", 0.0)),
        )

    @classmethod
    def on_free_ports(cls, state_dir: Path, project: str) -> StackConfig:
        """A second stack beside `make up`'s, for tests and benchmarks."""
        return cls(
            state_dir=state_dir,
            project=project,
            gateway_port=free_port(),
            simulator_port=free_port(),
            firestore_port=free_port(),
            pubsub_port=free_port(),
        )

    def control_env(self) -> dict[str, str]:
        """The SIYU_* variables from which `from_env` rebuilds this config (for `siyu` runs)."""
        return {
            "SIYU_STATE_DIR": str(self.state_dir),
            "SIYU_PROJECT": self.project,
            "SIYU_PORT": str(self.gateway_port),
            "SIYU_SIM_PORT": str(self.simulator_port),
            "SIYU_FIRESTORE_PORT": str(self.firestore_port),
            "SIYU_PUBSUB_PORT": str(self.pubsub_port),
        }

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    def env(self) -> dict[str, str]:
        """What every siyu process of the stack, and a client of it, needs in its environment."""
        return {
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.firestore_port}",
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{self.pubsub_port}",
            "GOOGLE_CLOUD_PROJECT": self.project,
            "SIYU_PROJECT": self.project,
            "SIYU_WECOM_API_BASE": f"{self.simulator_url}/cgi-bin",
            "SIYU_OPS_TOKEN": os.environ.get("SIYU_OPS_TOKEN", LOCAL_OPS_TOKEN),
            "SIYU_PARTNER_KEYS": os.environ.get("SIYU_PARTNER_KEYS", LOCAL_PARTNER_KEYS),
            # Locally a group change reaches the card-alert index within a second.
            "SIYU_GROUP_INDEX_REFRESH_S": os.environ.get("SIYU_GROUP_INDEX_REFRESH_S", "1"),
            "SIYU_TAG_RULES_REFRESH_S": os.environ.get("SIYU_TAG_RULES_REFRESH_S", "0"),
            "SIYU_TAG_CATALOG_REFRESH_S": os.environ.get("SIYU_TAG_CATALOG_REFRESH_S", "2"),
            "SIYU_CALENDAR_REFRESH_S": os.environ.get("SIYU_CALENDAR_REFRESH_S", "0"),
            # There is no Cloud Scheduler here: `siyu tick` publishes ticks, `as_of` plays days.
            "SIYU_TICK_ALLOW_AS_OF": "true",
        }

    def ops_client(self) -> httpx.Client:
        """The ops API as the local operator calls it (a bearer token stands in for IAM)."""
        return httpx.Client(
            base_url=self.gateway_url,
            timeout=15,
            headers={"Authorization": f"Bearer {self.env()['SIYU_OPS_TOKEN']}"},
        )

    def partner(self, key_id: str) -> tuple[str, bytes]:
        """A (key id, secret) pair the stack accepts, for local callers."""
        keys = parse_keys(self.env()["SIYU_PARTNER_KEYS"])
        return key_id, keys[key_id]


def local_subscription(topic: str) -> str:
    """The local stack's pull subscription on an outbound topic."""
    return f"{topic}-local"


@dataclass
class StackInfo:
    config: dict
    pids: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _state_file(cfg: StackConfig) -> Path:
    return cfg.state_dir / "stack.json"


def load(state_dir: Path) -> StackInfo | None:
    path = state_dir / "stack.json"
    if not path.exists():
        return None
    return StackInfo(**json.loads(path.read_text()))


def provision_pubsub(cfg: StackConfig) -> None:
    """Topics, dead-letter topics and push subscriptions into the gateway."""
    os.environ.update(cfg.env())
    from google.api_core.exceptions import AlreadyExists
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

    publisher = PublisherClient()
    subscriber = SubscriberClient()
    for fn in FUNCTIONS:
        if not fn.topic:
            continue
        topic = publisher.topic_path(cfg.project, fn.topic)
        dlq = publisher.topic_path(cfg.project, dead_letter(fn.topic))
        for path in (topic, dlq):
            with contextlib.suppress(AlreadyExists):
                publisher.create_topic(name=path)
        requests = [
            {
                "name": subscriber.subscription_path(cfg.project, f"{fn.topic}-{fn.name}"),
                "topic": topic,
                "push_config": {
                    "push_endpoint": (
                        f"{cfg.gateway_url}{fn.push_path}/projects/{cfg.project}/topics/{fn.topic}"
                    )
                },
                "ack_deadline_seconds": 60,
                "enable_message_ordering": True,
                "dead_letter_policy": {
                    "dead_letter_topic": dlq,
                    "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                },
                "retry_policy": {
                    "minimum_backoff": {"seconds": 1},
                    "maximum_backoff": {"seconds": 10},
                },
            },
            {  # Ops read dead letters from here (`siyu dlq`).
                "name": subscriber.subscription_path(cfg.project, f"{dead_letter(fn.topic)}-ops"),
                "topic": dlq,
            },
        ]
        for request in requests:
            with contextlib.suppress(AlreadyExists):
                subscriber.create_subscription(request=request)
    for name in OUTBOUND_TOPICS:
        # Stands in for the outside consumer (the bank's fulfilment system): a pull
        # subscription the demo and the tests read, dead-lettering like production.
        topic = publisher.topic_path(cfg.project, name)
        dlq = publisher.topic_path(cfg.project, dead_letter(name))
        for path in (topic, dlq):
            with contextlib.suppress(AlreadyExists):
                publisher.create_topic(name=path)
        with contextlib.suppress(AlreadyExists):
            subscriber.create_subscription(
                request={
                    "name": subscriber.subscription_path(cfg.project, local_subscription(name)),
                    "topic": topic,
                    "dead_letter_policy": {
                        "dead_letter_topic": dlq,
                        "max_delivery_attempts": MAX_DELIVERY_ATTEMPTS,
                    },
                }
            )


SEED_RULES = ROOT / "data" / "tag_rules.json"


def seed_tag_rules(cfg: StackConfig, path: Path = SEED_RULES) -> list[str]:
    """The repo's tag rules, saved through the ops API as an operator would."""
    from siyu.services.tag_rules import load_seed

    saved = []
    with cfg.ops_client() as ops:
        for rule_id, spec in load_seed(path):
            r = ops.put(
                f"/ops/tag-rules/{rule_id}", json=spec.model_dump(mode="json", by_alias=True)
            )
            if r.status_code != 200:
                raise StackError(f"seed rule {rule_id} refused: {r.status_code} {r.text}")
            saved.append(rule_id)
    return saved


def up(cfg: StackConfig) -> StackInfo:
    existing = load(cfg.state_dir)
    if existing and existing.pids and all(alive(p) for p in existing.pids.values()):
        return existing
    if existing:
        down(cfg.state_dir)
    busy = [
        p
        for p in (cfg.gateway_port, cfg.simulator_port, cfg.firestore_port, cfg.pubsub_port)
        if port_open(p)
    ]
    if busy:
        raise StackError(
            f"ports already in use: {busy}; stop what holds them or set "
            "SIYU_PORT / SIYU_SIM_PORT / SIYU_FIRESTORE_PORT / SIYU_PUBSUB_PORT"
        )
    logs = cfg.state_dir / "logs"
    info = StackInfo(config={k: str(v) for k, v in asdict(cfg).items()}, env=cfg.env())
    _state_file(cfg).parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        _state_file(cfg).write_text(json.dumps(asdict(info), indent=2))

    try:
        info.pids["firestore"] = emulators.start_firestore(cfg.firestore_port, logs)
        save()
        info.pids["pubsub"] = emulators.start_pubsub(cfg.pubsub_port, logs)
        save()
        python = sys.executable
        env = cfg.env()
        log = logs / "simulator.log"
        info.pids["simulator"] = spawn(
            [
                python,
                "-m",
                "siyu.devstack.simulator",
                "--port",
                str(cfg.simulator_port),
                "--callback-url",
                f"{cfg.gateway_url}/wecom/callback",
                "--fault-rate",
                str(cfg.fault_rate),
            ],
            log,
            env,
        )
        save()
        wait_http(
            f"{cfg.simulator_url}/_sim/health",
            lambda r: r.status_code == 200,
            30,
            info.pids["simulator"],
            log,
        )
        log = logs / "gateway.log"
        info.pids["gateway"] = spawn(
            [python, "-m", "siyu.devstack.gateway", "--port", str(cfg.gateway_port)], log, env
        )
        save()
        wait_http(
            f"{cfg.gateway_url}/_health",
            lambda r: r.status_code == 200,
            60,
            info.pids["gateway"],
            log,
        )
        provision_pubsub(cfg)
        seed_tag_rules(cfg)
    except BaseException:
        down(cfg.state_dir)
        raise
    return info


def down(state_dir: Path) -> list[str]:
    """Stop exactly the processes `up` recorded, newest first."""
    info = load(state_dir)
    if info is None:
        return []
    stopped = []
    for name, pid in reversed(list(info.pids.items())):
        stop(pid)
        stopped.append(f"{name} (pid {pid})")
    (state_dir / "stack.json").unlink(missing_ok=True)
    return stopped


__all__ = ["StackConfig", "StackError", "StackInfo", "down", "load", "up"]
