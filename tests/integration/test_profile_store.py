"""Profile, follow-up and rule repositories on the Firestore emulator."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from siyu import bootstrap
from siyu.adapters.firestore.store import TagRuleRepo
from siyu.domain.bank_customers import BankCustomer
from siyu.domain.errors import TransientError
from siyu.domain.followups import Followup, FollowupReason, FollowupStatus
from siyu.domain.layering import Aggregates
from siyu.domain.tag_rules import TagRule

AT = datetime(2026, 11, 23, 9, tzinfo=UTC)


def task(fid: str, staff: str, hours: int) -> Followup:
    return Followup(
        id=fid,
        external_userid="wm1",
        staff_userid=staff,
        reason=FollowupReason.REVISIT,
        due_at=AT + timedelta(hours=hours),
    )


def test_follow_ups_are_created_once_listed_due_and_marked_sent(cloud) -> None:
    repo = bootstrap.root().stores().followups
    for fid, staff, hours in [("a", "zs", 2), ("b", "zs", 0), ("c", "ls", 1), ("d", "zs", 48)]:
        assert repo.create(task(fid, staff, hours)) is True
    assert repo.create(task("a", "zs", 5)) is False
    assert [t.id for t in repo.due(AT + timedelta(hours=3), limit=10)] == ["b", "c", "a"]
    assert [t.id for t in repo.due(AT + timedelta(hours=3), limit=2)] == ["b", "c"]
    repo.mark_sent(["b", "c"], AT)
    assert [t.id for t in repo.due(AT + timedelta(hours=3), limit=10)] == ["a"]
    assert [t.id for t in repo.for_staff("zs", FollowupStatus.OPEN.value, 10)] == ["a", "d"]
    [sent] = repo.for_staff("zs", FollowupStatus.SENT.value, 10)
    assert sent.id == "b" and sent.sent_at == AT


def test_a_business_event_changes_the_bank_customer_once_under_concurrency(cloud) -> None:
    repo = bootstrap.root().stores().bank_customers

    def bump(c: BankCustomer | None) -> BankCustomer:
        base = c or BankCustomer(bank_customer_id="bc1")
        count = base.aggregates.purchase_count + 1
        return base.model_copy(update={"aggregates": Aggregates(purchase_count=count)})

    def deliver(n: int) -> bool:
        """Like Pub/Sub: a contended attempt fails as TransientError and is redelivered
        with backoff; a bounded number of times, so a stuck emulator fails the test."""
        for attempt in range(30):
            try:
                return repo.update_once(f"ev{n % 3}", "bc1", bump)
            except TransientError:
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError(f"delivery {n} never got through")

    # Each of 3 events delivered twice, 3 at a time: the emulator locks pessimistically.
    with ThreadPoolExecutor(3) as pool:
        applied = list(pool.map(deliver, range(6)))
    assert applied.count(True) == 3
    customer, _version = repo.get("bc1")
    assert customer is not None and customer.aggregates.purchase_count == 3


def test_tag_rules_round_trip(cloud) -> None:
    repo = TagRuleRepo(bootstrap.root().db())
    rule = TagRule.model_validate(
        {
            "id": "r1",
            "tag_id": "t1",
            "tag": {"group": "客群", "name": "银发客群"},
            "when": {"not": {"any": [{"field": "profile.age", "op": "<", "value": 60}]}},
        }
    )
    repo.put(rule)
    assert repo.get("r1") == rule and repo.all() == [rule]
    assert repo.get("missing") is None
