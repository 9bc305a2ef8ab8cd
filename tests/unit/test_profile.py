"""Business events → facts, layers, earned tags; tag sync coalescing; follow-up reminders.

Pure service logic over in-memory fakes; the same paths run on the local stack in
tests/e2e/test_profile_path.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from siyu.domain import customers as cust
from siyu.domain.bank_customers import BankCustomerLink
from siyu.domain.biz_events import BizEvent
from siyu.domain.customers import CustomerTag, TagSource
from siyu.domain.errors import TransientError, UpstreamError
from siyu.domain.followups import Followup, FollowupReason, FollowupStatus
from siyu.domain.layering import Stage
from siyu.domain.tag_rules import TagRuleSpec
from siyu.domain.tags import TagSyncRequest
from siyu.services.biz_events import BizEventRouter
from siyu.services.followups import FollowupNotifier
from siyu.services.ticks import Tick
from tests.fakes import (
    FakeCloud,
)


class World:
    """The production wiring (siyu.bootstrap) on fakes."""

    def __init__(self) -> None:
        self.cloud = FakeCloud()
        c = self.cloud
        self.clock, self.wecom, self.bank, self.customers = (
            c.clock,
            c.wecom,
            c.bank_customers,
            c.customers,
        )
        self.followups, self.ops_tasks = c.followups, c.ops_tasks
        self.root = c.root(tag_catalog_refresh_s=300, tag_rules_refresh_s=0)
        self.syncs = c.topic(self.root.settings.topic_tag_sync)
        self.catalog, self.rules = self.root.tag_catalog(), self.root.tag_rules()
        self.profiles, self.tag_sync = self.root.profiles(), self.root.tag_sync()

    def contact(self, ext: str, *staff: str) -> None:
        """A WeCom contact of these staff members, linked to bank customer `b-<ext>`."""
        customer = cust.new_customer(ext, self.clock.now())
        for n, userid in enumerate(staff):
            at = self.clock.now() + timedelta(seconds=n)
            customer = cust.add_relation(customer, userid, "", at)
        self.customers.docs[ext] = customer
        self.bank.link(f"b-{ext}", BankCustomerLink(external_userid=ext), self.clock.now())

    def rule(self, rule_id: str, group: str, name: str, when: dict[str, Any]) -> None:
        spec = {"tag": {"group": group, "name": name}, "when": when}
        self.rules.put(rule_id, TagRuleSpec.model_validate(spec))

    def send(self, kind: str, event_id: str, bank_customer_id: str, **payload: Any) -> None:
        body = {"event_id": event_id, "bank_customer_id": bank_customer_id, **payload}
        self.profiles.handle(BizEvent.model_validate({"type": kind, "payload": body}))

    def buy(self, event_id: str, bcid: str = "b-wm1", amount: str = "100.00") -> None:
        at = self.clock.now().isoformat()
        self.send("purchase", event_id, bcid, product="fund", amount=amount, occurred_at=at)

    def earned(self, bcid: str = "b-wm1") -> set[str]:
        customer, _ = self.bank.get(bcid)
        assert customer is not None
        return {f"{t.group}/{t.name}" for t in customer.earned_tags}

    def sync(self, bcid: str = "b-wm1") -> int:
        return self.tag_sync.sync(TagSyncRequest(bank_customer_id=bcid))


def test_purchases_move_a_customer_from_new_to_repeat_and_duplicates_change_nothing() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    w.send("profile", "p1", "b-wm1", age=35)
    assert w.earned() == {"生命周期/新客"}
    w.buy("e1")
    assert w.earned() == {"生命周期/首购", "RFM价值分层/一般发展客户"}
    w.buy("e1")  # the same event again
    w.buy("e2")
    customer, _ = w.bank.get("b-wm1")
    assert customer and customer.aggregates.purchase_count == 2
    assert customer.stage is Stage.REPEAT and "生命周期/复购" in w.earned()
    assert customer.profile.age == 35


def test_a_profile_event_keeps_what_it_does_not_mention() -> None:
    w = World()
    w.send("profile", "p1", "b1", age=61, aum_band="100-500万")
    w.send("profile", "p2", "b1", birthday="1965-03-02")
    customer, _ = w.bank.get("b1")
    assert customer and (customer.profile.age, customer.profile.aum_band) == (61, "100-500万")
    assert customer.profile.birthday == "03-02"  # month-day only: the year is not kept


def test_questionnaire_answers_earn_tags_through_rules() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    w.rule(
        "bold",
        "风险偏好",
        "进取型",
        {"field": "answers.risk.appetite", "op": "==", "value": "进取"},
    )
    w.rule(
        "funds", "兴趣", "基金", {"field": "answers.i.topics", "op": "contains", "value": "基金"}
    )
    answers = {"appetite": "进取"}
    w.send("questionnaire", "q1", "b-wm1", questionnaire_id="risk", answers=answers)
    w.send("questionnaire", "q2", "b-wm1", questionnaire_id="i", answers={"topics": ["保险"]})
    assert w.earned() == {"生命周期/新客", "风险偏好/进取型"}
    w.send("questionnaire", "q3", "b-wm1", questionnaire_id="i", answers={"topics": ["基金"]})
    assert "兴趣/基金" in w.earned()


def test_a_burst_of_changes_makes_one_mark_tag_per_relation() -> None:
    w = World()
    w.contact("wm1", "zhangsan", "lisi")
    for n in range(5):
        w.buy(f"e{n}")
    assert len(w.syncs.sent) == 5  # every event asks for a sync …
    calls = [w.sync() for _ in w.syncs.sent]
    assert calls == [2, 0, 0, 0, 0]  # … and the first one pushes everything, once per relation
    pushed = {add for _, _, adds in w.wecom.marked for add in adds}
    names = {t.id: f"{t.group_name}/{t.name}" for t in w.wecom.tags}
    assert {names[t] for t in pushed} == w.earned()


def test_a_rule_run_never_removes_a_manual_tag() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    manual = CustomerTag(id="manual-vip", name="老朋友", group="手工", source=TagSource.MANUAL)
    w.customers.docs["wm1"] = w.customers.docs["wm1"].model_copy(update={"tags": [manual]})
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    w.send("profile", "p1", "b-wm1", age=65)
    w.sync()
    w.send("profile", "p2", "b-wm1", age=59)  # no longer earns 银发客群
    w.sync()
    removed = {tag for _, _, tags in w.wecom.removed for tag in tags}
    silver = next(t.id for t in w.wecom.tags if t.name == "银发客群")
    assert removed == {silver}
    tags = {t.id: t.source for t in w.customers.docs["wm1"].tags}
    assert tags["manual-vip"] is TagSource.MANUAL and silver not in tags


def test_a_corp_tag_deleted_in_wecom_is_recreated_and_the_push_retried() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    w.buy("e1")
    failures = [UpstreamError("externalcontact/mark_tag: errcode 40068", 40068)]
    real_mark = w.wecom.mark_tag

    def mark_tag(*args: Any, **kwargs: Any) -> None:
        if failures:
            # The admin deleted every tag in the console: WeCom forgets them.
            w.wecom.tags.clear()
            raise failures.pop()
        real_mark(*args, **kwargs)

    w.wecom.mark_tag = mark_tag  # type: ignore[method-assign]
    assert w.sync() == 1
    assert {t.name for t in w.wecom.tags} == {"首购", "一般发展客户"}


def test_an_abandoned_journey_asks_the_owning_staff_member_to_call_back() -> None:
    w = World()
    w.contact("wm1", "zhangsan", "lisi")  # lisi added last: the owner
    at = w.clock.now().isoformat()
    for _ in range(2):
        w.send(
            "journey_abandoned",
            "j1",
            "b-wm1",
            journey="loan_application",
            step="收入证明",
            occurred_at=at,
        )
    [task] = w.followups.docs.values()
    assert task.reason is FollowupReason.JOURNEY_ABANDONED
    assert task.staff_userid == "lisi" and task.due_at <= w.clock.now() + timedelta(hours=1)
    assert "收入证明" in task.detail


def due_task(fid: str, staff: str, w: World, minutes: int = 0) -> Followup:
    """A revisit of wm1's active relation with `staff`."""
    customer = w.customers.docs.get("wm1") or cust.new_customer("wm1", w.clock.now())
    if customer.relation(staff) is None:
        w.customers.docs["wm1"] = cust.add_relation(customer, staff, "", w.clock.now())
    return Followup(
        id=fid,
        external_userid="wm1",
        staff_userid=staff,
        reason=FollowupReason.REVISIT,
        detail="添加后第3天回访",
        due_at=w.clock.now() + timedelta(minutes=minutes),
    )


def notifier(w: World, allow_as_of: bool = False) -> FollowupNotifier:
    return w.cloud.root(tick_allow_as_of=allow_as_of).followup_notifier()


def test_each_staff_member_gets_one_message_per_tick_and_tasks_are_sent_once() -> None:
    w = World()
    for fid, staff in [("a", "zhangsan"), ("b", "zhangsan"), ("c", "lisi")]:
        w.followups.create(due_task(fid, staff, w))
    w.followups.create(due_task("later", "lisi", w, minutes=60))
    n = notifier(w)
    assert n.tick(Tick()) == {"lisi": 1, "zhangsan": 2}
    assert n.tick(Tick()) == {}  # a redelivered tick
    assert sorted(to for to, _ in w.wecom.texts) == ["lisi", "zhangsan"]
    assert "您有2个待跟进客户" in dict(w.wecom.texts)["zhangsan"]
    w.clock.advance(15 * 60)
    assert n.tick(Tick()) == {}  # next slot: nothing new is due
    w.clock.advance(45 * 60)
    assert n.tick(Tick()) == {"lisi": 1}
    assert w.followups.docs["later"].status is FollowupStatus.SENT


def test_a_failed_message_is_retried_without_resending_the_others() -> None:
    w = World()
    w.followups.create(due_task("a", "zhangsan", w))
    w.followups.create(due_task("b", "lisi", w))
    w.wecom.fail_text_to = {"lisi"}
    n = notifier(w)
    with pytest.raises(TransientError):
        n.tick(Tick())
    w.wecom.fail_text_to = set()
    assert n.tick(Tick()) == {"lisi": 1}  # the redelivery, same slot
    assert [to for to, _ in w.wecom.texts] == ["zhangsan", "lisi"]


def test_an_unreachable_member_keeps_their_tasks_open_and_ops_are_told() -> None:
    """90236: 81013 for one member does not stop the others' reminders."""
    w = World()
    w.followups.create(due_task("a", "gone", w))
    w.followups.create(due_task("b", "lisi", w))
    w.wecom.invalid_users = {"gone"}
    n = notifier(w)
    assert n.tick(Tick()) == {"lisi": 1}
    assert w.followups.docs["a"].status is FollowupStatus.OPEN
    assert w.followups.docs["b"].status is FollowupStatus.SENT
    [task] = w.ops_tasks.docs.values()
    assert task.kind == "staff_unreachable" and "gone" in task.detail
    w.clock.advance(15 * 60)
    n.tick(Tick())
    assert len(w.ops_tasks.docs) == 1  # one open task per member, however many ticks


def test_only_the_local_stack_may_play_time_forward() -> None:
    w = World()
    w.followups.create(due_task("a", "zhangsan", w, minutes=3 * 24 * 60))
    future = Tick(as_of=w.clock.now() + timedelta(days=3))
    assert notifier(w).tick(future) == {}
    assert notifier(w, allow_as_of=True).tick(future) == {"zhangsan": 1}


def test_a_relation_added_later_gets_the_earned_tags_at_the_next_sync() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    w.buy("e1")
    assert w.sync() == 1
    ext = w.customers.docs["wm1"]
    w.customers.docs["wm1"] = cust.add_relation(ext, "lisi", "", w.clock.now())
    assert w.sync() == 1
    assert [(staff, len(adds)) for staff, _, adds in w.wecom.marked] == [
        ("zhangsan", 2),
        ("lisi", 2),
    ]


def test_tags_that_come_back_are_pushed_again() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    for n, age in enumerate([65, 50, 66]):
        w.send("profile", f"p{n}", "b-wm1", age=age)
        w.clock.advance(1)
        assert w.sync() == 1
    follow_tags = {t.name for t in w.customers.docs["wm1"].tags}
    assert "银发客群" in follow_tags


class StubReferrals:
    """Credits every card opening to `ref1` (the crediting itself is tested elsewhere)."""

    def __init__(self) -> None:
        self.credited: dict[str, str] = {}

    def handle(self, event: BizEvent) -> None:
        self.credited[event.payload.bank_customer_id] = "ref1"

    def credited_referrer(self, referee: str) -> str | None:
        return self.credited.get(referee)


def test_purchases_and_credited_referrals_are_funnel_milestones_once() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    funnel = w.cloud.funnel
    router = BizEventRouter(
        StubReferrals(),  # type: ignore[arg-type]
        w.profiles,
        w.bank,
        w.root.funnel(),
    )

    def buy(event_id: str) -> None:
        body = {
            "event_id": event_id,
            "bank_customer_id": "b-wm1",
            "product": "fund",
            "amount": "10.00",
            "occurred_at": w.clock.now().isoformat(),
        }
        router.handle(BizEvent.model_validate({"type": "purchase", "payload": body}))
        w.clock.advance(3600)

    for event_id in ("e1", "e1", "e2", "e3"):
        buy(event_id)
    assert [len(funnel.of(m)) for m in ("first_purchase", "repeat")] == [1, 1]
    [repeat] = funnel.of("repeat")
    assert repeat.at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # e2, the second purchase
    assert repeat.staff == "zhangsan"
    opened = {
        "event_id": "o1",
        "bank_customer_id": "friend",
        "opened_at": "2026-11-23T10:00:00+08:00",
    }
    for _ in range(2):
        router.handle(BizEvent.model_validate({"type": "card_opened", "payload": opened}))
    [credited] = funnel.of("referral_credited")
    assert credited.channel == "未关联"  # the referrer ref1 is not linked to WeCom
