"""`make bench`, tags: rule evaluation throughput for 50 rules, and how far tag sync coalesces.

Both run in-process: the first is pure CPU; the second drives the real ProfileService and
TagSyncService over in-memory ports and counts the mark_tag calls they make.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from siyu.domain import customers as cust
from siyu.domain.bank_customers import BankCustomer, KnownProfile
from siyu.domain.biz_events import BizEvent
from siyu.domain.customers import Customer
from siyu.domain.layering import Aggregates, LayeringConfig
from siyu.domain.tag_rules import RuleSet, TagRule, TagRuleSpec
from siyu.domain.tags import CorpTag, TagSyncRequest
from siyu.services.customer_profile import ProfileService
from siyu.services.followups import FollowupBook
from siyu.services.layering import CustomerLayering
from siyu.services.tag_catalog import TagCatalog
from siyu.services.tag_rules import TagRuleSet
from siyu.services.tag_sync import TagSyncService

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULES = 50
CUSTOMERS = 20_000


def fifty_rules(rng: random.Random) -> list[TagRule]:
    """A realistic mix: single tests, all/any of two or three, a not, over every fact kind."""
    tests: list[dict[str, Any]] = [
        {"field": "profile.age", "op": ">=", "value": rng.choice([25, 40, 60])},
        {"field": "profile.aum_band", "op": "in", "value": ["100-500万", "500万+"]},
        {"field": "aggregates.total_amount", "op": ">", "value": rng.choice([1e3, 1e4, 5e4])},
        {"field": "aggregates.purchase_count", "op": ">=", "value": rng.randint(1, 8)},
        {"field": "aggregates.days_since_last_purchase", "op": ">", "value": 90},
        {"field": "aggregates.products", "op": "contains", "value": rng.choice(["fund", "gold"])},
        {"field": "stage", "op": "==", "value": rng.choice(["repeat", "vip"])},
        {"field": "segment", "op": "exists"},
        {"field": "answers.risk.appetite", "op": "==", "value": "进取"},
        {"field": "journeys_abandoned", "op": "contains", "value": "loan_application"},
    ]
    rules = []
    for n in range(RULES):
        shape = n % 4
        picks = rng.sample(tests, 3)
        when: dict[str, Any] = (
            picks[0]
            if shape == 0
            else {"all": picks[:2]}
            if shape == 1
            else {"any": picks}
            if shape == 2
            else {"all": [picks[0], {"not": picks[1]}]}
        )
        rules.append(
            TagRule.model_validate(
                {"id": f"r{n}", "tag": {"group": "bench", "name": f"t{n}"}, "when": when}
            )
        )
    return rules


def random_customer(rng: random.Random, n: int) -> BankCustomer:
    count = rng.choice([0, 0, 1, 2, 3, 5, 12])
    return BankCustomer(
        bank_customer_id=f"b{n}",
        profile=KnownProfile(
            age=rng.randint(18, 80),
            aum_band=rng.choice([None, "0-10万", "100-500万", "500万+"]),
            birthday=date(1980, rng.randint(1, 12), 1),
        ),
        aggregates=Aggregates(
            purchase_count=count,
            total_amount=count * rng.uniform(50, 20_000),
            last_purchase_at=NOW - timedelta(days=rng.randint(0, 200)) if count else None,
            products=rng.sample(["fund", "gold", "deposit", "insurance"], k=min(count, 2)),
        ),
        answers={"risk": {"appetite": rng.choice(["稳健", "进取"])}},
        journeys_abandoned=rng.choice([[], ["loan_application"]]),
    )


def rule_throughput() -> str:
    rng = random.Random(50)
    ruleset = RuleSet(fifty_rules(rng))
    customers = [random_customer(rng, n) for n in range(CUSTOMERS)]
    facts = [c.facts(NOW) for c in customers]
    started = time.perf_counter()
    earned = sum(len(ruleset.tags_for(f)) for f in facts)
    evaluate_s = time.perf_counter() - started
    started = time.perf_counter()
    for c in customers:
        ruleset.tags_for(c.facts(NOW))
    with_facts_s = time.perf_counter() - started
    return (
        f"tag rules, {RULES} rules over {CUSTOMERS:,} customers (one core): "
        f"{CUSTOMERS / evaluate_s:,.0f} customers/s evaluating, "
        f"{CUSTOMERS / with_facts_s:,.0f} customers/s with facts built from the document; "
        f"{earned / CUSTOMERS:.1f} rule tags per customer"
    )


# -- coalescing ------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.at, self.mono = NOW, 0.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono


class _Docs:
    """Just enough of the repositories for the two services, in memory."""

    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}
        self.applied: set[str] = set()

    def get(self, key: str) -> Any:
        return self.docs.get(key)

    def update_once(self, event_key: str, key: str, change: Any) -> bool:
        if event_key in self.applied:
            return False
        self.docs[key] = change(self.docs.get(key))
        self.applied.add(event_key)
        return True


class _Bank(_Docs):
    def get(self, key: str) -> tuple[BankCustomer | None, Any]:  # type: ignore[override]
        return self.docs.get(key), None


@dataclass
class _WeCom:
    tags: list[CorpTag] = field(default_factory=list)
    mark_tag_calls: int = 0

    def get_corp_tag_list(self, tag_ids: list[str] | None = None) -> list[CorpTag]:
        return list(self.tags)

    def add_corp_tag(self, group_name: str, names: list[str]) -> list[CorpTag]:
        new = [CorpTag(id=f"t{len(self.tags)}{n}", name=n, group_name=group_name) for n in names]
        self.tags += new
        return new

    def mark_tag(self, userid: str, ext: str, add: list[str], remove: list[str]) -> None:
        self.mark_tag_calls += 1


class _Queue:
    def __init__(self) -> None:
        self.pending: list[TagSyncRequest] = []

    def send(self, message: Any, ordering_key: str = "", **attributes: str) -> str:
        self.pending.append(message)
        return str(len(self.pending))


class _Nothing:
    def put(self, rule: TagRule) -> None: ...

    def get(self, rule_id: str) -> TagRule | None:
        return None

    def all(self) -> list[TagRule]:
        return []

    def put_many(self, tags: list[CorpTag]) -> None: ...

    def create(self, followup: Any) -> bool:
        return True

    def start(self, backfill: Any) -> None: ...

    def send(self, message: Any, ordering_key: str = "", **attributes: str) -> str:
        return ""


def coalescing(burst: int, customers: int = 100, relations: int = 2) -> tuple[int, int, int]:
    """1,000 events over `customers`, `burst` at a time per customer, each burst's sync
    messages delivered after it. Returns (tag changes, mark_tag calls, calls without
    coalescing = one per tag change and relation)."""
    rng = random.Random(burst)
    # Typed Any: each stands in for one port, and only for what these two services call.
    clock, queue = _Clock(), _Queue()
    wecom: Any = _WeCom()
    bank: Any = _Bank()
    contacts: Any = _Docs()
    nothing: Any = _Nothing()
    catalog = TagCatalog(wecom, nothing, clock, refresh_s=3600)
    rules = TagRuleSet(nothing, catalog, nothing, nothing, clock, refresh_s=3600)
    for rule in fifty_rules(random.Random(50))[:10]:
        rules.put(
            rule.id,
            TagRuleSpec.model_validate(rule.model_dump(by_alias=True, exclude={"id", "tag_id"})),
        )
    layering = CustomerLayering(rules, catalog, LayeringConfig())
    profiles = ProfileService(
        bank, contacts, nothing, FollowupBook(nothing, clock), layering, queue, clock
    )
    sync = TagSyncService(bank, contacts, catalog, wecom, clock)
    for c in range(customers):
        ext = f"wm{c}"
        contact: Customer = cust.new_customer(ext, NOW)
        for r in range(relations):
            contact = cust.add_relation(contact, f"staff{r}", "", NOW)
        contacts.docs[ext] = contact
        bank.docs[f"b{c}"] = BankCustomer(bank_customer_id=f"b{c}", external_userid=ext)
    changes = 0
    events = 0
    while events < 1_000:
        c = rng.randrange(customers)
        for _ in range(burst):
            before = {t.id for t in bank.docs[f"b{c}"].earned_tags}
            profiles.handle(_event(rng, c, events))
            after = {t.id for t in bank.docs[f"b{c}"].earned_tags}
            changes += len(before ^ after)
            events += 1
        for request in queue.pending:
            sync.sync(request)
        queue.pending.clear()
    return changes, wecom.mark_tag_calls, changes * relations


def _event(rng: random.Random, c: int, n: int) -> BizEvent:
    base: dict[str, Any] = {"event_id": f"e{n}", "bank_customer_id": f"b{c}"}
    if rng.random() < 0.6:
        payload = {
            **base,
            "product": rng.choice(["fund", "gold", "deposit"]),
            "amount": str(Decimal(rng.randint(100, 30_000))),
            "occurred_at": NOW.isoformat(),
        }
        return BizEvent.model_validate({"type": "purchase", "payload": payload})
    answer = {"appetite": rng.choice(["稳健", "进取"])}
    payload = {**base, "questionnaire_id": "risk", "answers": answer}
    return BizEvent.model_validate({"type": "questionnaire", "payload": payload})


def coalescing_report() -> str:
    lines = []
    for burst, label in ((1, "sync after every event"), (10, "bursts of 10 per customer")):
        changes, calls, naive = coalescing(burst)
        per_1000 = calls * 1000 / changes if changes else 0.0
        lines.append(
            f"tag sync, {label}: {changes} tag changes on 2 relations → {calls} mark_tag calls "
            f"= {per_1000:.0f} per 1,000 changes (one call per change and relation: "
            f"{naive * 1000 / changes:.0f})"
        )
    return "\n".join(lines)
