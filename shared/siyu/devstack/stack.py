"""`siyu up` / `siyu down`: start the whole local stack in the background, stop it by PID."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from siyu.adapters.pubsub import DELIVERY
from siyu.devstack import emulators
from siyu.devstack.procs import StackError, alive, free_port, port_open, spawn, stop, wait_http
from siyu.devstack.registry import FUNCTIONS, OUTBOUND_TOPICS, ROOT, dead_letter
from siyu.domain.partner_auth import parse_keys

LOCAL_OPS_TOKEN = "local-ops-token"
LOCAL_SESSION_SECRET = "local-session-secret-not-for-production"
LOCAL_IDENTIFIER_KEY = "local-identifier-key-not-for-production"
LOCAL_FIRST_ADMIN = "ops_admin"  # the WeCom member who may sign in first and grant the rest
# The local stack's WeCom app: the simulator and siyu share these (never production's).
LOCAL_WECOM_SECRETS = {
    "SIYU_WECOM_SECRET": "local-contact-secret",
    "SIYU_WECOM_TOKEN": "siyuLocalToken",
    "SIYU_WECOM_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "SIYU_WECOM_AGENT_SECRET": "local-agent-secret",
}
# HMAC keys of the local stack's machine callers: the card-alert system and the bank.
LOCAL_PARTNER_KEYS = (
    "local-cards:local-card-alert-secret-0001,local-bank:local-bank-events-secret-0001"
)


@dataclass
class StackConfig:
    state_dir: Path = ROOT / ".siyu"
    project: str = "siyu-local"
    gateway_port: int = 8080
    worker_port: int = 8082
    simulator_port: int = 8090
    firestore_port: int = 8081
    pubsub_port: int = 8085
    storage_port: int = 8086
    fault_rate: float = 0.0

    @classmethod
    def from_env(cls) -> StackConfig:
        env = os.environ
        return cls(
            state_dir=Path(env.get("SIYU_STATE_DIR", ROOT / ".siyu")),
            project=env.get("SIYU_PROJECT", "siyu-local"),
            gateway_port=int(env.get("SIYU_PORT", 8080)),
            worker_port=int(env.get("SIYU_WORKER_PORT", 8082)),
            simulator_port=int(env.get("SIYU_SIM_PORT", 8090)),
            firestore_port=int(env.get("SIYU_FIRESTORE_PORT", 8081)),
            pubsub_port=int(env.get("SIYU_PUBSUB_PORT", 8085)),
            storage_port=int(env.get("SIYU_STORAGE_PORT", 8086)),
            fault_rate=float(env.get("SIYU_SIM_FAULT_RATE", 0.0)),
        )

    @classmethod
    def on_free_ports(cls, state_dir: Path, project: str) -> StackConfig:
        """A second stack beside `make up`'s, for tests and benchmarks."""
        return cls(
            state_dir=state_dir,
            project=project,
            gateway_port=free_port(),
            worker_port=free_port(),
            simulator_port=free_port(),
            firestore_port=free_port(),
            pubsub_port=free_port(),
            storage_port=free_port(),
        )

    def control_env(self) -> dict[str, str]:
        """The SIYU_* variables from which `from_env` rebuilds this config (for `siyu` runs)."""
        return {
            "SIYU_STATE_DIR": str(self.state_dir),
            "SIYU_PROJECT": self.project,
            "SIYU_PORT": str(self.gateway_port),
            "SIYU_WORKER_PORT": str(self.worker_port),
            "SIYU_SIM_PORT": str(self.simulator_port),
            "SIYU_FIRESTORE_PORT": str(self.firestore_port),
            "SIYU_PUBSUB_PORT": str(self.pubsub_port),
            "SIYU_STORAGE_PORT": str(self.storage_port),
        }

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    def env(self) -> dict[str, str]:
        """What every siyu process of the stack, and a client of it, needs in its environment."""
        return {
            "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{self.firestore_port}",
            "PUBSUB_EMULATOR_HOST": f"127.0.0.1:{self.pubsub_port}",
            "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{self.storage_port}",
            "SIYU_MEDIA_BUCKET": f"{self.project}-media",
            "GOOGLE_CLOUD_PROJECT": self.project,
            "SIYU_PROJECT": self.project,
            "SIYU_WECOM_API_BASE": f"{self.simulator_url}/cgi-bin",
            "SIYU_OPS_TOKEN": os.environ.get("SIYU_OPS_TOKEN", LOCAL_OPS_TOKEN),
            "SIYU_SESSION_SECRET": os.environ.get("SIYU_SESSION_SECRET", LOCAL_SESSION_SECRET),
            "SIYU_IDENTIFIER_KEY": os.environ.get("SIYU_IDENTIFIER_KEY", LOCAL_IDENTIFIER_KEY),
            "SIYU_FIRST_ADMIN": os.environ.get("SIYU_FIRST_ADMIN", LOCAL_FIRST_ADMIN),
            # WeCom web login (98152) played by the simulator, back to the local gateway.
            "SIYU_WECOM_LOGIN_BASE": self.simulator_url,
            "SIYU_OPS_LOGIN_REDIRECT": f"{self.gateway_url}/ops/login/callback",
            **{k: os.environ.get(k, v) for k, v in LOCAL_WECOM_SECRETS.items()},
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


def _save(cfg: StackConfig, info: StackInfo) -> None:
    """stack.json holds the stack's secrets (ops token, partner keys): owner-only, 0600."""
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    path = _state_file(cfg)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(asdict(info), indent=2))
    os.chmod(path, 0o600)  # an older file may have been created with wider permissions


# The processes siyu starts besides the emulators: what runs, and where it answers.
RESTARTABLE = ("gateway", "worker", "simulator")


def _command(cfg: StackConfig, name: str) -> tuple[list[str], str]:
    python = sys.executable
    if name == "simulator":
        argv = [
            python,
            "-m",
            "siyu.devstack.simulator",
            "--port",
            str(cfg.simulator_port),
            "--callback-url",
            f"{cfg.gateway_url}/wecom/callback",
            "--fault-rate",
            str(cfg.fault_rate),
        ]
        return argv, f"{cfg.simulator_url}/_sim/health"
    port, serve, url = (
        (cfg.gateway_port, "http", cfg.gateway_url)
        if name == "gateway"
        else (cfg.worker_port, "events", cfg.worker_url)
    )
    argv = [python, "-m", "siyu.devstack.gateway", "--port", str(port), "--serve", serve]
    return argv, f"{url}/_health"


def _start(cfg: StackConfig, info: StackInfo, name: str) -> None:
    argv, health = _command(cfg, name)
    log = cfg.state_dir / "logs" / f"{name}.log"
    info.pids[name] = spawn(argv, log, cfg.env())
    _save(cfg, info)
    wait_http(health, lambda r: r.status_code == 200, 60, info.pids[name], log)


def ports(cfg: StackConfig) -> dict[str, int]:
    return {
        "firestore": cfg.firestore_port,
        "pubsub": cfg.pubsub_port,
        "storage": cfg.storage_port,
        "simulator": cfg.simulator_port,
        "gateway": cfg.gateway_port,
        "worker": cfg.worker_port,
    }


@dataclass
class ProcessStatus:
    name: str
    pid: int
    alive: bool
    port: int
    answering: bool

    @property
    def healthy(self) -> bool:
        return self.alive and self.answering


def status(cfg: StackConfig) -> list[ProcessStatus]:
    """Each recorded process: is its PID alive, does its port answer."""
    info = load(cfg.state_dir)
    if info is None:
        return []
    by_port = ports(cfg)
    return [
        ProcessStatus(name, pid, alive(pid), by_port.get(name, 0), port_open(by_port.get(name, 0)))
        for name, pid in info.pids.items()
    ]


def restart(cfg: StackConfig, name: str) -> int:
    """Bring one process back (stopping it first if it still runs); the emulators, and so
    their data, are untouched. Returns the new PID."""
    if name not in RESTARTABLE:
        raise StackError(f"restart one of {', '.join(RESTARTABLE)}, not {name!r}")
    info = load(cfg.state_dir)
    if info is None:
        raise StackError("no stack is running here: start one with `siyu up`")
    old = info.pids.get(name)
    if old and alive(old):
        stop(old)
    _start(cfg, info, name)
    return info.pids[name]


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
                        f"{cfg.worker_url}{fn.push_path}/projects/{cfg.project}/topics/{fn.topic}"
                    )
                },
                "ack_deadline_seconds": 60,
                "enable_message_ordering": True,
                # No dead_letter_policy here, unlike production: the emulator's push loop
                # dies (NullPointerException in PushLoop) the first time it dead-letters a
                # message itself, and it spends the attempts of an unreachable worker in
                # seconds. The handler dead-letters on its own last attempt (it counts them
                # in Firestore, DELIVERY.max_delivery_attempts) in both places; production
                # keeps Pub/Sub's policy as the fallback.
                "retry_policy": {
                    "minimum_backoff": {"seconds": DELIVERY.minimum_backoff_s},
                    "maximum_backoff": {"seconds": DELIVERY.maximum_backoff_s},
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
                        "max_delivery_attempts": DELIVERY.max_delivery_attempts,
                    },
                }
            )
        with contextlib.suppress(AlreadyExists):  # as Terraform's topic module: every topic
            subscriber.create_subscription(
                request={
                    "name": subscriber.subscription_path(cfg.project, f"{dead_letter(name)}-ops"),
                    "topic": dlq,
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
    busy = [p for p in ports(cfg).values() if port_open(p)]
    if busy:
        raise StackError(
            f"ports already in use: {busy}; stop what holds them or set SIYU_PORT / "
            "SIYU_WORKER_PORT / SIYU_SIM_PORT / SIYU_FIRESTORE_PORT / SIYU_PUBSUB_PORT / "
            "SIYU_STORAGE_PORT"
        )
    logs = cfg.state_dir / "logs"
    info = StackInfo(config={k: str(v) for k, v in asdict(cfg).items()}, env=cfg.env())
    try:
        info.pids["firestore"] = emulators.start_firestore(cfg.firestore_port, logs)
        _save(cfg, info)
        info.pids["pubsub"] = emulators.start_pubsub(cfg.pubsub_port, logs)
        _save(cfg, info)
        info.pids["storage"] = emulators.start_storage(cfg.storage_port, logs)
        _save(cfg, info)
        emulators.create_bucket(cfg.storage_port, cfg.project, cfg.env()["SIYU_MEDIA_BUCKET"])
        for name in ("simulator", "gateway", "worker"):
            _start(cfg, info, name)
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


__all__ = [
    "StackConfig",
    "StackError",
    "StackInfo",
    "down",
    "load",
    "restart",
    "status",
    "up",
]


def console_note(cfg: StackConfig) -> str:
    """Where the ops console is and how to sign in locally (the simulator's WeCom login)."""
    return (
        f"ops console: {cfg.gateway_url}/console\n"
        f"  sign in: open it, WeCom's login page (the simulator's) opens; enter the UserID "
        f"{LOCAL_FIRST_ADMIN} (the first admin) and press 扫码确认登录 — or go straight to "
        f"{cfg.gateway_url}/ops/login?next=/console"
    )
