"""on_relayer_tick: once a day, re-layer the bank customers whose time-based results are due.

Every write of a bank customer stores `next_relayer_at`, the earliest moment time alone can
change its stage, segment or a rule's answer; the job reads only customers whose moment has
come (an ordered range query), so a day costs reads for the customers due, not for all.
A re-layered customer's moment moves past `now`, which makes the job resumable without a
cursor and a redelivered tick find nothing left to do.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from siyu.domain.bank_customers import BankCustomer
from siyu.logging import log
from siyu.ports import BankCustomerRepo, Clock, MessagePublisher
from siyu.services.customer_profile import request_tag_sync
from siyu.services.layering import CustomerLayering, tags_changed
from siyu.services.ticks import Tick

logger = logging.getLogger(__name__)

WRITERS = 8


class Relayering:
    def __init__(
        self,
        bank_customers: BankCustomerRepo,
        layering: CustomerLayering,
        tag_sync: MessagePublisher,
        again: MessagePublisher,
        clock: Clock,
        allow_as_of: bool,
        page_size: int,
        budget_s: float,
    ) -> None:
        self._bank_customers = bank_customers
        self._layering = layering
        self._tag_sync = tag_sync
        self._again = again
        self._clock = clock
        self._allow_as_of = allow_as_of
        self._page_size = page_size
        self._budget_s = budget_s

    def tick(self, tick: Tick) -> dict[str, int]:
        """Re-layer what is due; past the time budget, a new tick carries on."""
        now = tick.now(self._clock.now(), self._allow_as_of)
        deadline = self._clock.monotonic() + self._budget_s
        evaluated = changed = 0
        seen: set[str] = set()
        while True:
            if self._clock.monotonic() >= deadline:
                self._again.send(tick)  # the rest are still due: the next tick reads them
                break
            page = [
                (c, v)
                for c, v in self._bank_customers.due(now, self._page_size)
                if c.bank_customer_id not in seen
            ]
            if not page:
                break
            seen.update(c.bank_customer_id for c, _ in page)
            evaluated += len(page)
            # Each write waits on a round trip: a page's writes go out side by side.
            with ThreadPoolExecutor(WRITERS) as pool:
                changed += sum(pool.map(lambda entry: self._relayer(entry[0], entry[1], now), page))
        log(logger, logging.INFO, "re-layered", evaluated=evaluated, changed=changed)
        return {"evaluated": evaluated, "changed": changed}

    def _relayer(self, customer: BankCustomer, version: Any, now: datetime) -> bool:
        updated = self._layering.recompute(customer, now)
        # A business event written since the read recomputed the customer itself.
        if not self._bank_customers.save_if_unchanged(updated, version):
            return False
        if not tags_changed(customer, updated):
            return False
        return request_tag_sync(self._tag_sync, updated)
