"""on_tag_backfill: carry saved tag rules to every existing bank customer, page by page.

Each tick (every minute, and a kick when a rule is saved) works through the running
backfills for a bounded time. A page is re-evaluated and only the tags the change moves
(the rule's tag, and its former one) are brought up to date, so that backfills running side
by side each count their own changes; each changed customer is written on the version read
and handed to tag-sync (which paces mark_tag under WeCom's limits), and the
backfill advanced in a transaction on the cursor it started from: a crash resumes at the
last page recorded, and a page run twice counts once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from siyu.domain.backfills import Backfill, BackfillStatus, RulePreview, TagRuleDraft
from siyu.domain.bank_customers import BankCustomer
from siyu.domain.tag_rules import RuleSet, TagRule
from siyu.logging import log
from siyu.ports import BackfillRepo, BankCustomerRepo, Clock, MessagePublisher
from siyu.services.customer_profile import request_tag_sync
from siyu.services.layering import CustomerLayering, tags_changed
from siyu.services.tag_rules import TagRuleSet
from siyu.services.ticks import Tick

logger = logging.getLogger(__name__)

SAMPLE = 20
WRITERS = 8
LEASE = timedelta(seconds=60)  # far above a page's time; a run that died frees it after this


class TagBackfill:
    def __init__(
        self,
        backfills: BackfillRepo,
        bank_customers: BankCustomerRepo,
        rules: TagRuleSet,
        layering: CustomerLayering,
        tag_sync: MessagePublisher,
        clock: Clock,
        page_size: int,
        budget_s: float,
        preview_limit: int,
    ) -> None:
        self._backfills = backfills
        self._bank_customers = bank_customers
        self._rules = rules
        self._layering = layering
        self._tag_sync = tag_sync
        self._clock = clock
        self._page_size = page_size
        self._budget_s = budget_s
        self._preview_limit = preview_limit

    def tick(self, _tick: Tick) -> dict[str, int]:
        """Advance every running backfill until done or the time budget is spent."""
        deadline = self._clock.monotonic() + self._budget_s
        pages = 0
        for job in self._backfills.running():
            current: Backfill | None = job
            while current is not None and self._clock.monotonic() < deadline:
                current = self._page(current)
                pages += 1
        return {"pages": pages}

    def _page(self, step: Backfill) -> Backfill | None:
        """One page; the backfill as it now stands, or None when done, moved by another run or
        held by one (two runs on one page would each count only what they changed)."""
        now = self._clock.now()
        job = self._backfills.lease(step, now + LEASE, now)
        if job is None:
            return None
        rules = self._rules.fresh()
        page = self._bank_customers.page(job.cursor, self._page_size)
        moved = {(t.group, t.name) for t in job.tags}
        # Each write waits on a round trip: a page's writes go out side by side.
        with ThreadPoolExecutor(WRITERS) as pool:
            changed = sum(
                pool.map(lambda entry: self._apply(entry[0], entry[1], rules, moved), page)
            )
        done = len(page) < self._page_size
        after = job.model_copy(
            update={
                "cursor": page[-1][0].bank_customer_id if page else job.cursor,
                "evaluated": job.evaluated + len(page),
                "changed": job.changed + changed,
                "advanced_at": now,
                "leased_until": None,
                "status": BackfillStatus.DONE if done else BackfillStatus.RUNNING,
                "finished_at": now if done else None,
            }
        )
        if not self._backfills.advance(job, after):
            return None  # a new generation started, or another run recorded this page
        if done:
            log(
                logger,
                logging.INFO,
                "tag rule backfill finished",
                rule_id=job.rule_id,
                evaluated=after.evaluated,
                changed=after.changed,
            )
            return None
        return after

    def _apply(
        self, customer: BankCustomer, version: Any, rules: RuleSet, moved: set[tuple[str, str]]
    ) -> bool:
        """Re-evaluate one customer's `moved` tags; True when they changed."""
        for _attempt in range(2):
            full = self._layering.recompute(customer, self._clock.now(), rules)
            kept = [t for t in customer.earned_tags if (t.group, t.name) not in moved]
            earned = kept + [t for t in full.earned_tags if (t.group, t.name) in moved]
            updated = customer.model_copy(
                update={"earned_tags": earned, "next_relayer_at": full.next_relayer_at}
            )
            if updated == customer:
                return False
            if self._bank_customers.save_if_unchanged(updated, version):
                if tags_changed(customer, updated):
                    request_tag_sync(self._tag_sync, updated)
                    return True
                return False
            # Written since the page was read (a business event): evaluate what is there now.
            fresh, version = self._bank_customers.get(customer.bank_customer_id)
            if fresh is None:
                return False
            customer = fresh
        return False

    def preview(self, draft: TagRuleDraft) -> RulePreview:
        """Who would gain and lose the draft's tag if it were saved; nothing is written."""
        spec = draft.model_dump(by_alias=True, exclude={"id"})
        rule = TagRule(id=draft.id or "__preview__", **spec)
        current = self._rules.fresh()
        proposed = current.replacing(rule) if rule.enabled else _without(current, rule.id)
        tag = (rule.tag.group, rule.tag.name)
        now = self._clock.now()
        evaluated, gain, lose = 0, [], []
        for customer in self._scan():
            evaluated += 1
            had = _holds(customer, tag)
            has = _holds(self._layering.preview(customer, now, proposed), tag)
            if has and not had:
                gain.append(customer.bank_customer_id)
            elif had and not has:
                lose.append(customer.bank_customer_id)
        return RulePreview(
            evaluated=evaluated,
            complete=evaluated < self._preview_limit,
            gain=len(gain),
            lose=len(lose),
            sample_gain=gain[:SAMPLE],
            sample_lose=lose[:SAMPLE],
        )

    def _scan(self) -> Iterator[BankCustomer]:
        after, seen = "", 0
        while seen < self._preview_limit:
            page = self._bank_customers.page(
                after, min(self._page_size, self._preview_limit - seen)
            )
            for customer, _version in page:
                yield customer
            seen += len(page)
            if len(page) < self._page_size:
                return
            after = page[-1][0].bank_customer_id


def _holds(customer: BankCustomer, tag: tuple[str, str]) -> bool:
    return any((t.group, t.name) == tag for t in customer.earned_tags)


def _without(rules: RuleSet, rule_id: str) -> RuleSet:
    return RuleSet([r for r in rules.rules if r.id != rule_id])
