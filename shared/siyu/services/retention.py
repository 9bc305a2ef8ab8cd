"""Retention (PIPL art. 19): a customer whose every relation ended more than
SIYU_RETENTION_DAYS ago is erased by the daily tick, unless the bank still serves them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from siyu.domain.personal_data import BANK_CUSTOMER_DOC, PersonRef, holds_active_product
from siyu.logging import log
from siyu.ports import Clock, MessagePublisher, PersonalData
from siyu.services.people import PeopleService
from siyu.services.ticks import Tick

logger = logging.getLogger(__name__)
ACTOR = "siyu-retention"


class Retention:
    def __init__(
        self,
        people: PeopleService,
        data: PersonalData,
        again: MessagePublisher,
        clock: Clock,
        *,
        retention_days: int,
        page_size: int,
        budget_s: float,
        allow_as_of: bool,
    ) -> None:
        self._people = people
        self._data = data
        self._again = again
        self._clock = clock
        self._days = retention_days
        self._page = page_size
        self._budget_s = budget_s
        self._allow_as_of = allow_as_of

    def tick(self, tick: Tick) -> dict[str, int]:
        """Erase what is due, page by page; past the time budget, a new tick carries on."""
        now = tick.now(self._clock.now(), self._allow_as_of)
        cutoff = now - timedelta(days=self._days)
        deadline = self._clock.monotonic() + self._budget_s
        erased, kept = 0, set()
        after = ""
        while page := self._data.ended_before(cutoff, after, self._page):
            if self._clock.monotonic() >= deadline:
                self._again.send(tick)
                break
            for external_userid in page:
                if external_userid in kept or self._still_served(external_userid, cutoff):
                    kept.add(external_userid)
                    continue
                ref = PersonRef(external_userid=external_userid)
                reason = f"retention: every relation ended more than {self._days} days ago"
                self._people.erase(ref, reason, ACTOR, "retention")
                erased += 1
            # The cursor: when its document was just erased, the next page starts over, and
            # only what is kept is read again.
            after = page[-1]
        log(logger, logging.INFO, "retention applied", erased=erased, kept=len(kept))
        return {"erased": erased, "kept": len(kept)}

    def _still_served(self, external_userid: str, since: datetime) -> bool:
        ids = self._people.identities(PersonRef(external_userid=external_userid))
        for bank in ids.bank_customer_ids:
            docs = self._data.find("bank_customers", BANK_CUSTOMER_DOC, bank)
            cardholder = bool(self._data.find("cardholders", BANK_CUSTOMER_DOC, bank))
            if holds_active_product(docs[0].data if docs else {}, cardholder, since):
                return True
        return False
