"""`make bench` for referrals: credited invites per second on the emulator, documents per invite."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast

from siyu.devstack.counting import Cost, Counting
from siyu.devstack.stack import StackConfig
from siyu.domain.referrals import DEFAULT_TIERS, CardOpened
from siyu.ports import ReferralRepo

REFERRERS = 100
FRIENDS_EACH = 10  # every referrer climbs all four default tiers
CONCURRENCY = 8
# Documents each repository call touches, as the Firestore adapter issues them.
READS: dict[str, Cost] = {
    "code_of": 1,
    "owner_of": 1,
    "get_invite": 1,
    # Creates the first free slot; each slot found taken costs a read. Every device in
    # this bench is new: no slot is taken (the figure would undercount otherwise).
    "claim_hash": 0,
    "successful_invites": 1,
    "rewards": lambda found: max(1, len(found)),
}
WRITES: dict[str, Cost] = {
    "create_code": 2,
    "first_card_event": 1,
    "claim_hash": 1,
    "create_invite": 1,
    "reserve": 2,  # the invite and the day's counter, one batch
    "re_reserve": 2,
    "credit": 2,  # the invite and the referrer's counter, one batch
    "reject": 1,
    "record_attempt": 1,
    "grant": 1,
    "mark_published": 1,
}


def report(cfg: StackConfig) -> str:
    """The on_biz_event service in this process against the stack's emulators."""
    os.environ.update(cfg.env())
    os.environ["SIYU_TOPIC_REWARD_GRANTED"] = "reward-granted"
    from siyu.bootstrap import bootstrap

    production = bootstrap()
    logging.getLogger("siyu").setLevel(logging.WARNING)
    repo = Counting(production.stores().referrals, reads=READS, writes=WRITES)
    counted = replace(production.stores(), referrals=cast(ReferralRepo, repo))
    service = bootstrap(production.settings, stores=counted).referrals()
    run = f"{int(time.time())}"
    codes = [service.code_for(f"bench_ref_{run}_{r}") for r in range(REFERRERS)]
    opened = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    events = [
        CardOpened(
            event_id=f"bench-{run}-{r}-{f}",
            bank_customer_id=f"bench_friend_{run}_{r}_{f}",
            referral_code=codes[r],
            opened_at=opened,
            device_hash=f"dev{run}{r}{f}".ljust(16, "0"),
        )
        for f in range(FRIENDS_EACH)
        for r in range(REFERRERS)
    ]
    repo.read = repo.written = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(service.card_opened, events))
    elapsed = time.perf_counter() - started
    credited = sum(service.view(f"bench_ref_{run}_{r}").successful_invites for r in range(3))
    n = len(events)
    return (
        f"referrals: {n / elapsed:,.0f} credited invites/s on the emulator ({n:,} card openings, "
        f"{REFERRERS} referrers × {FRIENDS_EACH} friends, {CONCURRENCY} concurrent, "
        f"{REFERRERS * len(DEFAULT_TIERS)} tier grants published); per invite "
        f"{repo.read / n:.2f} document reads + {repo.written / n:.2f} writes, no transaction "
        f"(check: first referrers credited {credited}/{3 * FRIENDS_EACH})"
    )
