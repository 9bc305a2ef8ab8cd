"""`make bench` for the ops console: how long the dashboard takes to render in Chromium on
the local stack holding 10,000 customers (with their funnel milestones) and 1,000 groups."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp

from siyu.adapters.firestore.store import as_document
from siyu.devstack import browser, stack
from siyu.devstack.bench_cards import demo_groups, seed_groups
from siyu.devstack.stack import StackConfig
from siyu.domain.customers import Customer, Relation
from siyu.domain.funnel import Dims, Milestone, record, recount, tally_id

CUSTOMERS = 10_000
GROUPS = 1_000
RENDERS = 5
WAIT_MS = 180_000  # a render slower than this is a failure, not a figure
# Share of the customers who reached each milestone after being added.
REACHED = {
    Milestone.WELCOMED: 0.95,
    Milestone.JOINED_GROUP: 0.4,
    Milestone.FIRST_PURCHASE: 0.15,
    Milestone.REPEAT: 0.05,
    Milestone.LOST: 0.03,
}


def seed_customers(cfg: StackConfig, count: int = CUSTOMERS, days: int = 14) -> int:
    """Customers with a relation each and their milestones over the last `days` days, as
    the event worker writes them (the funnel's documents and their daily tallies)."""
    from google.cloud import firestore

    db = firestore.Client(project=cfg.project)
    rng = random.Random(19)
    now = datetime.now(UTC)
    channels = [f"渠道{n}" for n in range(10)]
    cities = ["上海", "北京", "深圳", "成都", "杭州"]
    branches = ["sh", "bj", "sz", "cd", "hz"]
    writer = db.bulk_writer()
    marks = []
    for n in range(count):
        ext = f"wm_bench_console_{n:05d}"
        staff = f"staff{n % 20:02d}"
        at = now - timedelta(days=rng.random() * days)
        city = rng.randrange(5)
        dims = Dims(
            channel=rng.choice(channels), staff=staff, city=cities[city], branch=branches[city]
        )
        relation = Relation(staff_userid=staff, added_at=at, changed_at=at)
        customer = Customer(external_userid=ext, relations=[relation], created_at=at, updated_at=at)
        writer.set(db.collection("customers").document(ext), as_document(customer))
        reached = [Milestone.ADDED] + [m for m, share in REACHED.items() if rng.random() < share]
        for milestone in reached:
            mark = record(milestone, ext, at + timedelta(minutes=5), dims, ext)
            writer.set(db.collection("funnel").document(mark.id), as_document(mark))
            marks.append(mark)
    for tally in recount(marks):
        writer.set(db.collection("funnel_days").document(tally_id(tally)), as_document(tally))
    writer.close()
    return len(marks)


def dashboard_renders(cfg: StackConfig, renders: int = RENDERS) -> list[float]:
    """Milliseconds from opening the dashboard to its funnel, trend and health drawn."""
    timings = []
    with browser.browser() as chromium:
        page = browser.sign_in(chromium, cfg)
        for _ in range(renders + 1):  # the first warms the instance's clients
            page.goto("about:blank")
            started = time.perf_counter()
            page.goto(f"{cfg.gateway_url}/console#/dashboard")
            page.locator("[data-ready=dashboard]").wait_for(state="attached", timeout=WAIT_MS)
            timings.append((time.perf_counter() - started) * 1000)
    return timings[1:]


def report() -> str:
    cfg = StackConfig.on_free_ports(Path(mkdtemp(prefix="siyu-bench-console-")), "siyu-bench")
    stack.up(cfg)
    try:
        seed_groups(cfg, demo_groups(GROUPS, seed=3))
        milestones = seed_customers(cfg)
        timings = dashboard_renders(cfg)
    finally:
        stack.down(cfg.state_dir)
    return (
        f"console dashboard render (Chromium, signed in, funnel + trend + health drawn): "
        f"p50 {statistics.median(timings):.0f} ms, max {max(timings):.0f} ms over {len(timings)} "
        f"loads; {CUSTOMERS:,} customers, {milestones:,} funnel milestones, {GROUPS:,} groups"
    )
