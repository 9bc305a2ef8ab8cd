"""`make bench`: every figure the README's benchmark table gives, measured in one run."""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import mkdtemp

import httpx

from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.adapters.wecom.events import parse_envelope, parse_event, render_envelope, render_event
from siyu.config import Settings
from siyu.devstack import (
    bench_campaigns,
    bench_cards,
    bench_console,
    bench_http,
    bench_referrals,
    bench_segments,
    bench_tags,
    stack,
)
from siyu.devstack.stack import LOCAL_WECOM_SECRETS

CPU_ROUNDS = 5_000
LOAD_REQUESTS = 300  # per kind; bounded, loopback only
LOAD_CONCURRENCY = 8


def callback_throughput() -> float:
    """Verify + decrypt + parse per second for a typical add event, one core."""
    s = Settings()
    crypto = WeComCrypto(s.secret("wecom_token"), s.secret("wecom_aes_key"), s.wecom_corp_id)
    inner = render_event(
        {
            "ToUserName": s.wecom_corp_id,
            "FromUserName": "sys",
            "CreateTime": 1795400000,
            "MsgType": "event",
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": "zhangsan",
            "ExternalUserID": "wmXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "State": "card_alert",
            "WelcomeCode": "CALLBACK_CODE_EXAMPLE_0123456789",
        }
    )
    encrypted = crypto.encrypt(inner)
    body = render_envelope(s.wecom_corp_id, encrypted)
    signature = crypto.sign("1795400000", "nonce", encrypted)
    started = time.perf_counter()
    for _ in range(CPU_ROUNDS):
        parse_event(
            crypto.verify_and_decrypt(signature, "1795400000", "nonce", parse_envelope(body))
        )
    return CPU_ROUNDS / (time.perf_counter() - started)


def ack_latencies(cfg: stack.StackConfig, with_welcome: bool) -> list[float]:
    """POST distinct signed callbacks through the simulator; its timer covers the HTTP ack."""
    sim = httpx.Client(base_url=cfg.simulator_url, timeout=30)

    def one(i: int) -> float:
        fields = {
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": "bench",
            "ExternalUserID": f"wm_bench_{with_welcome}_{i}",
            "State": "bench",
        }
        if not with_welcome:
            fields["WelcomeCode"] = ""
        delivery = sim.post("/_sim/emit", json=fields).json()["deliveries"][0]
        assert delivery["status"] == 200, delivery
        return float(delivery["latency_ms"])

    with ThreadPoolExecutor(LOAD_CONCURRENCY) as pool:
        return list(pool.map(one, range(LOAD_REQUESTS)))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    for key, value in LOCAL_WECOM_SECRETS.items():  # the bench plays the local WeCom app
        os.environ.setdefault(key, value)
    print(
        f"callback verify+decrypt+parse: {callback_throughput():,.0f} callbacks/s "
        f"(one core, {CPU_ROUNDS} rounds)"
    )
    print(bench_cards.lookups())  # before the stack starts: no emulator competing for the CPU
    print(bench_tags.rule_throughput())
    print(bench_tags.coalescing_report())
    print(bench_campaigns.report())
    print(bench_http.import_times())  # before the stack starts: nothing else on the CPU
    cfg = stack.StackConfig.on_free_ports(Path(mkdtemp(prefix="siyu-bench-")), "siyu-bench")
    stack.up(cfg)
    try:
        ack_latencies(cfg, with_welcome=False)  # warm-up: token, clients, emulator JIT
        for with_welcome in (False, True):
            values = ack_latencies(cfg, with_welcome)
            label = "with fast welcome" if with_welcome else "ack only        "
            print(
                f"gateway ack latency, {label}: p50 {statistics.median(values):.1f} ms, "
                f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms "
                f"({LOAD_REQUESTS} callbacks, {LOAD_CONCURRENCY} concurrent, loopback)"
            )
        print(bench_cards.report(cfg))
        print(bench_referrals.report(cfg))
        print(bench_segments.report(cfg))
    finally:
        stack.down(cfg.state_dir)
    print(bench_http.report())  # its own stack: only the function measured on the CPU
    print(bench_console.report())  # its own stack: exactly the data the figure names


if __name__ == "__main__":
    main()
