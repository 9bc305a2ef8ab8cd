"""The HTTP functions side by side with what bounds them, in one run: each served alone by
functions-framework's own server (gunicorn, as Cloud Functions runs it) against the same
emulators, driven by wrk with distinct signed requests (no replays, no duplicates), beside a
hello-world function and a floor function doing exactly the hot path's I/O."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from tempfile import mkdtemp
from typing import cast

import httpx

from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.adapters.wecom.events import render_envelope, render_event
from siyu.config import Settings
from siyu.devstack import bench_cards, stack
from siyu.devstack.build import build, compile_bytecode
from siyu.devstack.counting import Counting
from siyu.devstack.procs import free_port, stop
from siyu.devstack.registry import ROOT
from siyu.devstack.stack import (
    LOCAL_IDENTIFIER_KEY,
    LOCAL_PARTNER_KEYS,
    LOCAL_SESSION_SECRET,
    LOCAL_WECOM_SECRETS,
    StackConfig,
)
from siyu.domain.partner_auth import signed_headers
from siyu.ports import GroupDirectoryStore, GroupRepo

THREADS, CONNECTIONS, SECONDS = 2, 16, 10
# Requests built per target: more than the fastest target sends in SECONDS.
PER_TARGET = 40_000
WARM = 2_000  # sent first, in a short run of their own: instance start is measured apart
CARD_CUSTOMERS, CARD_GROUPS = 2_000, 300
COLD_GROUPS = 10_000
BENCH_TOPIC = "bench-wecom-events"
FLOORS = ROOT / "shared" / "siyu" / "devstack" / "bench_floors.py"

# Each wrk thread sends its own share of the requests, each once; `overflow` counts sends
# past the end (then the last request repeats, and the run is reported as spoiled).
LUA = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local total = tonumber(args[2])
  reqs, n, overflow = {}, 0, 0
  local i = 0
  for chunk in string.gmatch(data, "([^%z]+)") do
    if i % total == id then reqs[#reqs + 1] = chunk end
    i = i + 1
  end
end
function request()
  n = n + 1
  if n > #reqs then
    overflow = overflow + 1
    return reqs[#reqs]
  end
  return reqs[n]
end
function done(summary, latency, requests)
  local spilled = 0
  for _, t in ipairs(threads) do spilled = spilled + t:get("overflow") end
  io.write(string.format("overflow %d\n", spilled))
end
"""


@dataclass
class Result:
    name: str
    rps: float
    p99_ms: float
    requests: int
    non_2xx: int
    overflow: int

    @classmethod
    def pooled(cls, runs: list[Result]) -> Result:
        """Several runs of one target as one row: mean rate, worst p99, every request."""
        return cls(
            name=runs[0].name,
            rps=sum(r.rps for r in runs) / len(runs),
            p99_ms=max(r.p99_ms for r in runs),
            requests=sum(r.requests for r in runs),
            non_2xx=sum(r.non_2xx for r in runs),
            overflow=sum(r.overflow for r in runs),
        )

    def cells(self) -> str:
        spoiled = " (requests ran out: duplicates sent)" if self.overflow else ""
        return (
            f"{self.rps:>8,.0f} req/s  p99 {self.p99_ms:>7.1f} ms  {self.requests:>7,} requests  "
            f"non-2xx {self.non_2xx}{spoiled}"
        )


def _raw(method: str, path: str, port: int, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def callbacks(port: int, n: int) -> list[bytes]:
    """Distinct signed add_external_contact callbacks without a WelcomeCode."""
    s = Settings()
    crypto = WeComCrypto(s.secret("wecom_token"), s.secret("wecom_aes_key"), s.wecom_corp_id)
    stamp, run = str(int(time.time())), uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        inner = render_event(
            {
                "ToUserName": s.wecom_corp_id,
                "FromUserName": "sys",
                "CreateTime": int(stamp),
                "MsgType": "event",
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "UserID": "bench",
                "ExternalUserID": f"wm_http_{run}_{i}",
                "State": "bench",
            }
        )
        encrypted = crypto.encrypt(inner)
        nonce = f"n{run}{i}"
        query = (
            f"msg_signature={crypto.sign(stamp, nonce, encrypted)}&timestamp={stamp}&nonce={nonce}"
        )
        body = render_envelope(s.wecom_corp_id, encrypted)
        out.append(_raw("POST", f"/?{query}", port, body, {"Content-Type": "text/xml"}))
    return out


def card_alerts(cfg: StackConfig, port: int, n: int, seed: int) -> list[bytes]:
    """Distinct signed card alerts (a new txn each, every call) from CARD_CUSTOMERS customers
    of `seed`; the first CARD_CUSTOMERS name each customer once, so the warm-up invites
    everyone it will and the measured alerts do the steady state's I/O: one read (the invite
    cooldown holds)."""
    key_id, secret = cfg.partner("local-cards")
    run = uuid.uuid4().hex[:8]
    out = []
    bodies = bench_cards.alert_bodies(n, CARD_CUSTOMERS, seed=seed)
    for i, body in enumerate(bodies[:CARD_CUSTOMERS]):
        body["bank_customer_id"] = f"bc_bench_{seed}_{i}"
    for i, body in enumerate(bodies):
        body["txn_id"] = f"bench-{run}-{i}"
        data = json.dumps(body).encode()
        headers = signed_headers(key_id, secret, data, time.time())
        out.append(_raw("POST", "/card-alert", port, data, headers))
    return out


def hellos(port: int, n: int) -> list[bytes]:
    return [_raw("GET", f"/?n={i}", port, b"", {}) for i in range(n)]


def serve(cfg: StackConfig, target: str, source: Path) -> tuple[subprocess.Popen[bytes], int]:
    """One function alone under functions-framework's server, as Cloud Functions runs it."""
    port = free_port()
    # Published events go to a topic no worker reads, so the worker does not share the CPU.
    env = {**os.environ, **cfg.env(), "PYTHONPATH": str(ROOT / "shared")}
    env["SIYU_TOPIC_WECOM_EVENTS"] = BENCH_TOPIC
    log = (cfg.state_dir / "logs" / f"bench-{target}.log").open("ab")
    command = [sys.executable, "-m", "functions_framework", "--target", target]
    command += ["--source", str(source), "--port", str(port), "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        command, env=env, stdout=log, stderr=log, cwd=source.parent, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.2)
    stop(proc.pid)
    raise RuntimeError(f"{target} did not start: see {log.name}")


def drive(
    cfg: StackConfig, name: str, port: int, requests: list[bytes], seconds: int = SECONDS
) -> Result:
    work = cfg.state_dir / "wrk"
    work.mkdir(exist_ok=True)
    (work / "requests.lua").write_text(LUA)
    data = work / (re.sub(r"[^a-z0-9_-]+", "-", name) + ".bin")
    data.write_bytes(b"\0".join(requests))
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    command += ["-s", str(work / "requests.lua"), f"http://127.0.0.1:{port}/"]
    command += ["--", str(data), str(THREADS)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120).stdout
    return Result(
        name=name,
        rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p99_ms=_ms(_find(r"\s99%\s+([\d.]+\w+)", out)),
        requests=int(_find(r"(\d+) requests in", out)),
        non_2xx=int(_find(r"Non-2xx or 3xx responses: (\d+)", out, "0")),
        overflow=int(_find(r"overflow (\d+)", out)),
    )


def _find(pattern: str, text: str, default: str | None = None) -> str:
    found = re.search(pattern, text)
    if found is None:
        if default is None:
            raise RuntimeError(f"wrk said nothing like {pattern!r}:\n{text}")
        return default
    return found.group(1)


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _measured(
    cfg: StackConfig, name: str, target: str, source: Path, build: Callable[[int], list[bytes]]
) -> Result:
    proc, port = serve(cfg, target, source)
    try:
        requests = build(port)
        drive(cfg, f"{name}-warm", port, requests[:WARM], seconds=6)  # clients, index, invites
        return drive(cfg, name, port, requests[WARM:])
    finally:
        stop(proc.pid)


def _first_answer_s(cfg: StackConfig) -> float:
    """From starting a card_alert process to its first answer (imports, clients, index)."""
    started = time.perf_counter()
    proc, port = serve(cfg, "card_alert", ROOT / "functions" / "card_alert" / "main.py")
    try:
        [request] = card_alerts(cfg, port, 1, seed=int(time.time()))
        head, body = request.split(b"\r\n\r\n", 1)
        headers = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )
        headers.pop("Content-Length", None)
        answer = httpx.post(f"http://127.0.0.1:{port}/card-alert", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return time.perf_counter() - started
    finally:
        stop(proc.pid)


def _reads_at_start(with_snapshot: bool) -> int:
    """Documents a new instance's group index reads before its first answer."""
    from siyu.bootstrap import bootstrap
    from siyu.services.nearby_groups import NearbyGroupIndex

    root = bootstrap()
    feed = Counting(root.stores().groups, reads={"changed_since": lambda r: len(r[0])})
    snapshot = Counting(
        root.stores().group_directory, reads={"manifest": 1, "parts": lambda r: len(r)}
    )
    directory = cast(GroupDirectoryStore, snapshot) if with_snapshot else None
    index = NearbyGroupIndex(cast(GroupRepo, feed), root.clock, 200, 1.0, directory)
    index.refresh(force=True)
    return feed.read + snapshot.read


def cold_start(cfg: StackConfig) -> str:
    """card_alert's start with COLD_GROUPS groups: loading every group vs the snapshot."""
    os.environ.update(cfg.env())
    from google.cloud import firestore

    from siyu.bootstrap import bootstrap
    from siyu.services.ticks import Tick

    bench_cards.seed_groups(cfg, bench_cards.demo_groups(COLD_GROUPS, seed=5))
    db = firestore.Client(project=cfg.project)
    for snap in db.collection("group_directory").stream():
        snap.reference.delete()
    before = (_first_answer_s(cfg), _reads_at_start(with_snapshot=False))
    bootstrap().group_directory().tick(Tick())
    after = (_first_answer_s(cfg), _reads_at_start(with_snapshot=True))
    total = len(list(db.collection("groups").select([]).stream()))
    return (
        f"card_alert start with {total:,} groups (process start → first answer; documents "
        f"the index reads): every group {before[0]:.2f} s, {before[1]:,} reads; from the "
        f"directory snapshot {after[0]:.2f} s, {after[1]:,} reads"
    )


STACK_SECRETS = {
    **LOCAL_WECOM_SECRETS,
    "SIYU_SESSION_SECRET": LOCAL_SESSION_SECRET,
    "SIYU_IDENTIFIER_KEY": LOCAL_IDENTIFIER_KEY,
    "SIYU_PARTNER_KEYS": LOCAL_PARTNER_KEYS,
}
HELLO = """import functions_framework


@functions_framework.http
def hello(request):
    return "ok"
"""


def _import_ms(folder: Path, env: dict[str, str], tries: int = 5) -> float:
    """`import main` in the folder, by `python -X importtime` (its cumulative µs), best of n."""
    best = float("inf")
    for _ in range(tries):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import main"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        last = [line for line in run.stderr.splitlines() if line.rstrip().endswith("| main")][-1]
        best = min(best, int(last.split("|")[1]) / 1000)
    return best


def import_times() -> str:
    """Each function's entry point imported as its instance starts it, from the bundle
    `make build` ships (with its bytecode), against a hello-world shipped the same way."""
    env = {**os.environ}
    env.pop("PYTHONPATH", None)  # the bundle's own siyu, as deployed
    env |= {k: env.get(k, v) for k, v in STACK_SECRETS.items()}  # entry points fail closed
    out = Path(mkdtemp(prefix="siyu-bundles-"))
    hello_dir = out / "hello"
    hello_dir.mkdir()
    (hello_dir / "main.py").write_text(HELLO)
    compile_bytecode(hello_dir)
    hello = _import_ms(hello_dir, env)
    rows = [
        f"entry-point imports from the built bundles (python -X importtime, best of 5): "
        f"hello-world {hello:.0f} ms"
    ]
    for bundle in sorted(build(out / "functions")):
        took = _import_ms(bundle, env)
        rows.append(f"  {bundle.name:<20} {took:6.0f} ms  (+{took - hello:.0f} ms over hello)")
    return "\n".join(rows)


def _create_topic(cfg: StackConfig, name: str) -> None:
    os.environ.update(cfg.env())
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(name=publisher.topic_path(cfg.project, name))


def report() -> str:
    """The ratios and card_alert's start, on a stack of their own: no worker still busy
    with an earlier benchmark's events shares the two cores with the functions measured."""
    cfg = StackConfig.on_free_ports(Path(mkdtemp(prefix="siyu-bench-http-")), "siyu-bench")
    stack.up(cfg)
    try:
        return ratios(cfg) + "\n" + cold_start(cfg)  # cold_start last: it adds 10,000 groups
    finally:
        stack.down(cfg.state_dir)


def ratios(cfg: StackConfig) -> str:
    """Run on a started stack: the callback and the card alert against hello and floors."""
    bench_cards.seed_groups(cfg, bench_cards.demo_groups(CARD_GROUPS, seed=1))
    _create_topic(cfg, BENCH_TOPIC)
    functions = ROOT / "functions"
    seed = int(time.time()) % 100_000  # the bank customers both card_alert rows name
    rows = {
        "hello-world": ("hello", FLOORS, lambda p: hellos(p, PER_TARGET + WARM)),
        "floor: callback I/O": (
            "callback_floor",
            FLOORS,
            lambda p: callbacks(p, PER_TARGET + WARM),
        ),
        "wecom_callback": (
            "wecom_callback",
            functions / "wecom_callback" / "main.py",
            lambda p: callbacks(p, PER_TARGET + WARM),
        ),
        "card_alert": (
            "card_alert",
            functions / "card_alert" / "main.py",
            lambda p: card_alerts(cfg, p, PER_TARGET + WARM, seed),
        ),
        "floor: one read": (
            "card_alert_floor",
            FLOORS,
            lambda p: card_alerts(cfg, p, PER_TARGET + WARM, seed),
        ),
    }
    # Each function and its floor in the order A B B A, so that the emulators warming up
    # (or slowing) over the run favours neither. card_alert first: its warm-up writes the
    # customers' invites, so the floor reads the very documents card_alert reads.
    order = ["hello-world"]
    for function, floor in (
        ("wecom_callback", "floor: callback I/O"),
        ("card_alert", "floor: one read"),
    ):
        order += [function, floor, floor, function]
    # One run unmeasured first: the Java emulators compile their write paths under load,
    # and the first target measured would pay for it.
    _measured(cfg, "emulators-warm", *rows["floor: callback I/O"])
    runs: dict[str, list[Result]] = {}
    for name in order:
        runs.setdefault(name, []).append(_measured(cfg, name, *rows[name]))
    results = {name: Result.pooled(rs) for name, rs in runs.items()}
    hello = results["hello-world"]
    lines = [
        f"HTTP functions under functions-framework (gunicorn), wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{SECONDS}s, distinct signed requests, the stack's emulators; mean of the runs "
        f"(function and floor twice each, A B B A):"
    ]
    floors = {"wecom_callback": "floor: callback I/O", "card_alert": "floor: one read"}
    for name, result in results.items():
        ratio = ""
        if name in floors:
            bound = results[floors[name]]
            ratio = (
                f"  {result.rps / bound.rps:.2f}× its I/O floor, "
                f"{result.rps / hello.rps:.2f}× hello"
            )
        each = " / ".join(f"{r.rps:,.0f}" for r in runs[name])
        lines.append(f"  {name:<22}{result.cells()}  [{each}]{ratio}")
    return "\n".join(lines)
