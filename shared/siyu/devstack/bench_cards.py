"""`make bench` for card alerts: index vs sort-all, HTTP throughput, Firestore ops per alert."""

from __future__ import annotations

import json
import logging
import os
import random
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import httpx

from siyu.devstack.counting import Counting
from siyu.devstack.stack import StackConfig
from siyu.domain.card_alerts import CardAlert
from siyu.domain.geo import geohash, haversine_m
from siyu.domain.groups import Group, Location
from siyu.domain.partner_auth import signed_headers
from siyu.domain.spatial import NearestGrid
from siyu.ports import BankCustomerRepo, GroupRepo, OpsTaskRepo

GROUPS = 10_000
LOOKUPS = 2_000
SORT_ALL_LOOKUPS = 200  # ~11 ms each: enough for stable percentiles
ALERTS = 10_000
# An active card user makes about 12 transactions a week, so 10,000 alerts come from ~830.
ALERT_CUSTOMERS = 830
HTTP_ALERTS = 3_000
HTTP_CONCURRENCY = 8
CITIES = {
    "上海": (31.23, 121.47),
    "北京": (39.90, 116.40),
    "深圳": (22.54, 114.06),
    "成都": (30.57, 104.07),
    "乌鲁木齐": (43.82, 87.61),
}


def demo_groups(n: int, seed: int) -> list[tuple[str, str, float, float]]:
    """(chat id, city, lat, lng): dense in five cities, a tenth scattered in between."""
    rng = random.Random(seed)
    names = sorted(CITIES)
    out = []
    for k in range(n):
        city = names[k % len(names)]
        if k % 10 == 0:
            lat, lng = rng.uniform(18, 53), rng.uniform(73, 135)
        else:
            clat, clng = CITIES[city]
            lat, lng = clat + rng.gauss(0, 0.15), clng + rng.gauss(0, 0.15)
        out.append((f"wr_bench_{k:05d}", city, lat, lng))
    return out


def queries(groups: list[tuple[str, str, float, float]], n: int, seed: int) -> list[tuple]:
    """Merchants near groups, as card transactions cluster where the groups are."""
    rng = random.Random(seed)
    picks = rng.choices(groups, k=n)
    return [
        (city, lat + rng.gauss(0, 0.01), lng + rng.gauss(0, 0.01)) for _, city, lat, lng in picks
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def lookups() -> str:
    groups = demo_groups(GROUPS, seed=1)
    with_room = [g for i, g in enumerate(groups) if i % 7]  # every 7th is full
    grid = NearestGrid()
    for chat_id, _city, lat, lng in with_room:
        grid.put(chat_id, lat, lng)
    asks = queries(groups, LOOKUPS, seed=2)

    def sort_all(lat: float, lng: float) -> str | None:
        ranked = sorted(with_room, key=lambda g: haversine_m(lat, lng, g[2], g[3]))
        return ranked[0][0] if haversine_m(lat, lng, ranked[0][2], ranked[0][3]) <= 5000 else None

    index_ms = [_timed(grid.nearest, lat, lng, 5000) for _c, lat, lng in asks]
    sort_ms = [_timed(sort_all, lat, lng) for _c, lat, lng in asks[:SORT_ALL_LOOKUPS]]
    agree = sum(
        (grid.nearest(q[1], q[2], 5000) or (None,))[0] == sort_all(q[1], q[2])
        for q in asks[:SORT_ALL_LOOKUPS]
    )
    i50, i99 = statistics.median(index_ms), percentile(index_ms, 0.99)
    s50, s99 = statistics.median(sort_ms), percentile(sort_ms, 0.99)
    return (
        f"nearest-with-room over {GROUPS:,} groups ({len(with_room):,} with room):\n"
        f"  grid index    p50 {i50 * 1000:.1f} µs, p99 {i99 * 1000:.1f} µs ({LOOKUPS:,} lookups)\n"
        f"  sort all      p50 {s50:.2f} ms, p99 {s99:.2f} ms ({SORT_ALL_LOOKUPS} lookups)\n"
        f"  ratio         p50 {s50 / i50:,.0f}×, p99 {s99 / i99:,.0f}× "
        f"(same answer in {agree}/{SORT_ALL_LOOKUPS})"
    )


def benefit_group(i: int, chat_id: str, city: str, lat: float, lng: float, at: datetime) -> Group:
    """A registered benefit group at (lat, lng), WGS-84; every 7th is full."""
    return Group(
        chat_id=chat_id,
        name=f"{city}福利群{i}",
        city=city,
        kind="food",
        member_count=200 if i % 7 == 0 else 50,
        updated_at=at,
        location=Location(
            lat=lat,
            lng=lng,
            geohash=geohash(lat, lng, 9),
            source_lat=lat,
            source_lng=lng,
            source_system="wgs84",
        ),
        join_config_id=f"cfg{i}",
        join_url=f"https://wework.qpic.cn/wwpic/bench/{i}",
    )


def seed_groups(cfg: StackConfig, groups: list[tuple[str, str, float, float]]) -> None:
    """Benefit groups written straight to Firestore (the registry's WeCom calls are not timed)."""
    from google.cloud import firestore

    db = firestore.Client(project=cfg.project)
    now = datetime.now(UTC)
    for start in range(0, len(groups), 500):
        batch = db.batch()
        for i, (chat_id, city, lat, lng) in enumerate(groups[start : start + 500], start):
            group = benefit_group(i, chat_id, city, lat, lng, now)
            doc = {**group.model_dump(mode="python"), "revised_at": firestore.SERVER_TIMESTAMP}
            batch.set(db.collection("groups").document(chat_id), doc)
        batch.commit()


def alert_bodies(n: int, customers: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    asks = queries(demo_groups(GROUPS, seed=1), n, seed)
    return [
        {
            "txn_id": f"bench-{seed}-{i}",
            "bank_customer_id": f"bc_bench_{seed}_{rng.randrange(customers)}",
            "amount": "58.00",
            "currency": "CNY",
            "occurred_at": "2026-11-23T12:00:00+08:00",
            "merchant": {
                "name": "商户",
                "mcc": "5812",
                "city": city,
                "lat": lat,
                "lng": lng,
                "coord_system": "wgs84",
            },
        }
        for i, (city, lat, lng) in enumerate(asks)
    ]


def firestore_per_alert(cfg: StackConfig) -> str:
    """The card-alert service in this process on the emulator, its repositories counted."""
    os.environ.update(cfg.env())
    from siyu.bootstrap import bootstrap

    production = bootstrap()
    stores = production.stores()
    groups = Counting(stores.groups, reads={"changed_since": lambda r: max(1, len(r[0]))})
    customers = Counting(stores.bank_customers, reads={"for_alert": 1}, writes={"record_invite": 1})
    tasks = Counting(stores.ops_tasks, writes={"create": 1})
    counted = replace(
        stores,
        groups=cast(GroupRepo, groups),
        bank_customers=cast(BankCustomerRepo, customers),
        ops_tasks=cast(OpsTaskRepo, tasks),
    )
    root = bootstrap(production.settings, stores=counted)
    directory, service = root.nearby_groups(), root.card_alerts()
    directory.refresh()
    initial_reads, groups.read = groups.read, 0
    logging.getLogger("siyu").setLevel(logging.WARNING)  # one INFO line per invite otherwise
    bodies = alert_bodies(ALERTS, ALERT_CUSTOMERS, seed=3)
    started = time.perf_counter()
    for body in bodies:
        service.answer(CardAlert.model_validate(body))
    elapsed = time.perf_counter() - started
    reads = customers.read + groups.read
    writes = customers.written + tasks.written
    return (
        f"Firestore per alert over {ALERTS:,} alerts from {ALERT_CUSTOMERS} customers: "
        f"{reads / ALERTS:.3f} reads, {writes / ALERTS:.3f} writes "
        f"({customers.written} invites, {tasks.written} ops tasks; the index's first load read "
        f"{initial_reads:,} group documents once per instance; {ALERTS / elapsed:,.0f} alerts/s "
        "in-process on the emulator)"
    )


def http_throughput(cfg: StackConfig) -> str:
    key_id, secret = cfg.partner("local-cards")
    bodies = [json.dumps(b).encode() for b in alert_bodies(HTTP_ALERTS, ALERT_CUSTOMERS, seed=4)]
    client = httpx.Client(base_url=cfg.gateway_url, timeout=30)

    def one(i: int) -> float:
        headers = signed_headers(key_id, secret, bodies[i], time.time())
        started = time.perf_counter()
        r = client.post("/card-alert", content=bodies[i], headers=headers)
        assert r.status_code == 200, r.text
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(HTTP_CONCURRENCY) as pool:
        list(pool.map(one, range(100)))  # warm-up: loads the group index
        started = time.perf_counter()
        latencies = list(pool.map(one, range(100, HTTP_ALERTS)))
        elapsed = time.perf_counter() - started
    return (
        f"card-alert HTTP, one worker process on loopback: {len(latencies) / elapsed:,.0f} "
        f"alerts/s, p50 {statistics.median(latencies):.1f} ms, p99 "
        f"{percentile(latencies, 0.99):.1f} ms ({len(latencies):,} alerts, "
        f"{HTTP_CONCURRENCY} concurrent, HMAC-signed, emulator Firestore)"
    )


def report(cfg: StackConfig) -> str:
    """Run on a started side stack; groups are seeded once for both measurements."""
    seed_groups(cfg, demo_groups(GROUPS, seed=1))
    return "\n".join([firestore_per_alert(cfg), http_throughput(cfg)])
