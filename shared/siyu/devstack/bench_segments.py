"""`make bench`: the daily re-layering job reads only the customers due, and a tag rule's
backfill rate, on the emulator."""

from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from siyu.devstack.counting import Counting
from siyu.devstack.stack import StackConfig
from siyu.domain.backfills import Backfill, BackfillStatus
from siyu.domain.tag_rules import TagRule
from siyu.domain.tags import TagRef
from siyu.ports import BankCustomerRepo
from siyu.services.ticks import Tick

# The README's figures: the rates are per customer, and seeding the emulator runs at about
# 500 documents/s here, so 100,000 would spend minutes before measuring anything.
CUSTOMERS = 30_000
DUE_SHARE = 0.01
BATCH = 500


def report(cfg: StackConfig) -> str:
    os.environ.update(cfg.env())
    from siyu.adapters.firestore.store import as_document
    from siyu.bootstrap import bootstrap
    from siyu.config import Settings
    from siyu.domain.bank_customers import BankCustomer

    logging.getLogger("siyu").setLevel(logging.WARNING)
    production = bootstrap(Settings(relayer_budget_s=3600, backfill_budget_s=3600))
    db = production.db()
    # The stack's seeded rules start backfills: let them finish before seeding, or they would
    # re-layer the seeded customers under the job's feet.
    deadline = time.monotonic() + 120
    while production.stores().backfills.running() and time.monotonic() < deadline:
        time.sleep(0.5)
    now = datetime.now(UTC)
    rng = random.Random(16)
    run = f"{int(time.time())}"
    seeded = time.perf_counter()
    writer = db.bulk_writer()
    due = 0
    for n in range(CUSTOMERS):
        quiet = rng.random() < DUE_SHARE
        due += quiet
        last = now - timedelta(days=40 if quiet else rng.randrange(0, 25))
        customer = BankCustomer.model_validate(
            {
                "bank_customer_id": f"seg_{run}_{n:06d}",
                "profile": {"age": rng.randrange(18, 90)},
                "aggregates": {
                    "purchase_count": 2,
                    "total_amount": "600",
                    "last_purchase_at": last,
                },
                "segment": "一般发展客户",
                "next_relayer_at": last + timedelta(days=31),
            }
        )
        ref = db.collection("bank_customers").document(customer.bank_customer_id)
        writer.set(ref, as_document(customer))
    writer.close()
    seed_s = time.perf_counter() - seeded

    counted = Counting(
        production.stores().bank_customers,
        reads={"due": len, "page": len, "get": 1},
        writes={"save_if_unchanged": lambda ok: int(bool(ok))},
    )
    stores = replace(production.stores(), bank_customers=cast(BankCustomerRepo, counted))
    root = bootstrap(production.settings, stores=stores)
    started = time.perf_counter()
    result = root.relayering().tick(Tick())
    relayer_s = time.perf_counter() - started
    reads, writes = counted.read, counted.written

    counted.read = counted.written = 0
    rule = TagRule.model_validate(
        {
            "id": f"bench_{run}",
            "tag": {"group": "客群", "name": "银发客群"},
            "when": {"field": "profile.age", "op": ">=", "value": 60},
        }
    )
    stores.tag_rules.put(rule)
    # Started directly (no kick): the stack's worker would otherwise share the pages.
    stores.backfills.start(
        Backfill(
            rule_id=rule.id,
            generation=run,
            tags=[TagRef(group="客群", name="银发客群")],
            status=BackfillStatus.RUNNING,
            started_at=now,
            advanced_at=now,
        )
    )
    started = time.perf_counter()
    root.tag_backfill().tick(Tick())
    backfill_s = time.perf_counter() - started
    view = root.tag_rules().backfill(rule.id)
    return _lines(result, due, reads, writes, relayer_s, seed_s, view, backfill_s, counted)


def _lines(
    result: dict[str, int],
    due: int,
    reads: int,
    writes: int,
    relayer_s: float,
    seed_s: float,
    view: Any,
    backfill_s: float,
    counted: Counting,
) -> str:
    evaluated = max(result["evaluated"], 1)
    return (
        f"re-layering: {CUSTOMERS:,} bank customers ({CUSTOMERS / seed_s:,.0f}/s seeded), "
        f"{due:,} due ({DUE_SHARE:.0%}): the job evaluated {result['evaluated']:,} and read "
        f"{reads:,} documents ({reads / evaluated:.2f} per due customer, "
        f"{reads / CUSTOMERS:.2%} of all), wrote {writes:,}; "
        f"{result['evaluated'] / relayer_s:,.0f} customers/s on the emulator\n"
        f"tag rule backfill: {view.evaluated:,} customers evaluated in {backfill_s:.1f} s = "
        f"{view.evaluated / backfill_s:,.0f}/s ({view.changed:,} changed and written, "
        f"{counted.read:,} reads, {counted.written:,} writes; status {view.status.value})"
    )
