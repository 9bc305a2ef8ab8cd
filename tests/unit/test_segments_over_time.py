"""Time moves segments (the daily re-layering job reads only the customers due), a saved rule
reaches every existing customer (backfill, preview), and a new relation gets its tags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from siyu.domain import bank_customers as bc
from siyu.domain.backfills import BackfillStatus, TagRuleDraft
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.events import WeComEvent
from siyu.domain.layering import Aggregates, LayeringConfig
from siyu.domain.tag_rules import RuleSet, TagRule, TagRuleSpec
from siyu.services.ticks import Tick
from tests.unit.test_profile import World

DORMANT = {"field": "aggregates.days_since_last_purchase", "op": ">", "value": 90}
T0 = datetime(2026, 1, 10, 12, tzinfo=UTC)


def rules(*specs: tuple[str, dict]) -> RuleSet:
    return RuleSet(
        [
            TagRule.model_validate({"id": rid, "tag": {"group": "g", "name": rid}, "when": when})
            for rid, when in specs
        ]
    )


def bought(last: datetime, count: int = 2, birthday: str | None = None) -> BankCustomer:
    agg = Aggregates(purchase_count=count, total_amount=9000, last_purchase_at=last)
    profile = {"birthday": birthday} if birthday else {}
    return BankCustomer.model_validate(
        {"bank_customer_id": "b1", "aggregates": agg.model_dump(), "profile": profile}
    )


# -- when a customer is next due ------------------------------------------------------------


def test_next_change_is_the_recency_edge_then_each_rule_threshold() -> None:
    cfg = LayeringConfig(recent_days=30)
    customer = bought(T0)
    ruleset = rules(("dormant", DORMANT))
    # Recent until day 30 inclusive: the segment flips when the count reaches 31.
    assert bc.next_change(customer, T0, cfg, ruleset) == T0 + timedelta(days=31)
    # After that, `> 90` can flip at 91 days (90 and 91 are both candidates).
    at_40 = T0 + timedelta(days=40)
    assert bc.next_change(customer, at_40, cfg, ruleset) == T0 + timedelta(days=90)
    at_91 = T0 + timedelta(days=91)
    assert bc.next_change(customer, at_91, cfg, ruleset) is None  # nothing left to flip
    assert bc.next_change(BankCustomer(bank_customer_id="never"), T0, cfg, ruleset) is None


def test_every_threshold_is_met_on_the_day_its_answer_flips() -> None:
    """Whatever the operator and value, evaluating at each due moment (and only then) sees
    every change: the answer just before a due moment equals the one after the previous."""
    cfg = LayeringConfig(recent_days=30)
    for op in (">", ">=", "<", "<=", "==", "!="):
        for value in (0, 1, 7, 45.5, 90):
            when = {"field": "aggregates.days_since_last_purchase", "op": op, "value": value}
            ruleset = rules(("r", when))
            customer, now = bought(T0), T0
            answer = ruleset.tags_for(customer.facts(now))
            for hour in range(0, 24 * 120, 6):
                t = T0 + timedelta(hours=hour)
                due = bc.next_change(customer, now, cfg, ruleset)
                if due is not None and t >= due:
                    now, answer = t, ruleset.tags_for(customer.facts(t))
                assert ruleset.tags_for(customer.facts(t)) == answer, (op, value, hour)


def test_a_birthday_month_rule_wakes_the_customer_at_both_edges_of_the_month() -> None:
    cfg = LayeringConfig()
    when = {"field": "profile.birthday_this_month", "op": "==", "value": True}
    customer = bought(T0, birthday="1990-03-15").model_copy(update={"aggregates": Aggregates()})
    ruleset = rules(("bday", when))
    first = bc.next_change(customer, T0, cfg, ruleset)
    assert first == datetime(2026, 2, 28, 16, tzinfo=UTC)  # 1 March 00:00 in Shanghai
    assert bc.next_change(customer, first, cfg, ruleset) == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert ruleset.tags_for(customer.facts(first))  # in March
    assert not ruleset.tags_for(customer.facts(first - timedelta(seconds=1)))
    # Without a rule over it, the birthday wakes nobody.
    assert bc.next_change(customer, T0, cfg, rules()) is None


def test_the_birthday_flag_takes_only_equality_with_a_boolean() -> None:
    with pytest.raises(ValueError, match="true or false"):
        TagRuleSpec.model_validate(
            {
                "tag": {"group": "g", "name": "n"},
                "when": {"field": "profile.birthday_this_month", "op": ">", "value": 1},
            }
        )


# -- the daily job --------------------------------------------------------------------------


def quiet_world() -> World:
    """wm1 (linked to b-wm1, two staff) bought twice, 5,000+ in all; the seeded dormant rule."""
    w = World()
    w.contact("wm1", "zhangsan")
    w.rule("dormant", "活跃度", "沉睡", DORMANT)
    w.buy("e1", amount="3000.00")
    w.buy("e2", amount="3000.00")
    w.sync()
    return w


def relayer(w: World, days: float) -> dict[str, int]:
    root = w.cloud.root(tick_allow_as_of=True, tag_rules_refresh_s=0)
    return root.relayering().tick(Tick(as_of=w.clock.now() + timedelta(days=days)))


def test_a_customer_quiet_for_120_days_turns_dormant_and_wecom_hears_of_it() -> None:
    w = quiet_world()
    assert w.earned() >= {"RFM价值分层/重要发展客户"} and "活跃度/沉睡" not in w.earned()
    w.syncs.sent.clear()
    assert relayer(w, 10) == {"evaluated": 0, "changed": 0}  # nobody due yet
    assert relayer(w, 31)["changed"] == 1  # recency lapsed: 重要挽留
    assert "RFM价值分层/重要挽留客户" in w.earned()
    assert relayer(w, 120)["changed"] == 1
    assert "活跃度/沉睡" in w.earned()
    for request, _ in w.syncs.sent:
        w.tag_sync.sync(request)
    dormant_id = w.catalog.ids(
        [
            TagRuleSpec.model_validate(
                {"tag": {"group": "活跃度", "name": "沉睡"}, "when": DORMANT}
            ).tag
        ]
    )[0]
    assert any(dormant_id in add for _, ext, add in w.wecom.marked if ext == "wm1")
    # A redelivered tick finds nobody due: nothing is read twice, nothing written.
    writes = w.bank.writes
    assert relayer(w, 120) == {"evaluated": 0, "changed": 0} and w.bank.writes == writes


def test_the_job_reads_only_the_customers_due() -> None:
    w = quiet_world()
    for n in range(200):  # customers who bought recently: due in 31 days, not in 2
        w.buy(f"x{n}", bcid=f"fresh{n}")
    reads = w.bank.reads
    assert relayer(w, 2)["evaluated"] == 0 and w.bank.reads == reads
    w.clock.advance(86400 * 20)
    w.buy("late", bcid="late")  # due 31 days after today: after everyone else
    reads = w.bank.reads
    assert relayer(w, 12)["evaluated"] == 201  # wm1 and the 200, not `late`
    assert w.bank.reads - reads == 201


def test_a_job_past_its_time_budget_hands_the_rest_to_a_new_tick() -> None:
    w = quiet_world()
    for n in range(5):
        w.buy(f"x{n}", bcid=f"c{n}")
    root = w.cloud.root(tick_allow_as_of=True, relayer_page_size=2, relayer_budget_s=1)
    again = w.cloud.topic(root.settings.topic_relayer_ticks)
    job = root.relayering()
    original = w.bank.due

    def slow_due(now: datetime, limit: int) -> list:
        w.clock.mono += 0.6  # each page costs 0.6 s of the 1-s budget
        return original(now, limit)

    w.bank.due = slow_due  # type: ignore[method-assign]
    tick = Tick(as_of=w.clock.now() + timedelta(days=40))
    # Pages start while budget remains: two pages of two, then the third waits.
    assert job.tick(tick)["evaluated"] == 4 and len(again.sent) == 1
    assert again.sent[0][0] == tick
    done = 4
    while again.sent:
        message, _ = again.sent.pop()
        done += job.tick(message)["evaluated"]
    assert done == 6  # every due customer once, none twice


# -- backfills and previews -----------------------------------------------------------------


def backfill_world(customers: int = 7) -> World:
    w = World()
    w.contact("wm1", "zhangsan")
    w.send("profile", "p0", "b-wm1", age=65)
    for n in range(customers - 1):
        w.send("profile", f"p{n + 1}", f"b{n}", age=20 + 10 * n)
    return w


def tick_backfill(w: World, **settings: object) -> dict[str, int]:
    root = w.cloud.root(tag_rules_refresh_s=0, backfill_page_size=3, **settings)
    return root.tag_backfill().tick(Tick())


def test_a_rule_saved_after_customers_exist_reaches_them_through_the_backfill() -> None:
    w = backfill_world()
    w.syncs.sent.clear()
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    view = w.rules.backfill("silver")
    assert view.status is BackfillStatus.RUNNING and view.evaluated == 0
    kicks = w.cloud.topic(w.root.settings.topic_tag_backfill_ticks).sent
    assert [m.rule_id for m, _ in kicks] == ["silver"]  # starts now, not at the next tick
    assert tick_backfill(w) == {"pages": 3}
    view = w.rules.backfill("silver")
    assert (view.status, view.evaluated, view.changed) == (BackfillStatus.DONE, 7, 3)
    assert view.finished_at is not None
    assert "客群/银发客群" in w.earned() and "客群/银发客群" in w.earned("b4")
    # Only linked customers are synced to WeCom; b4/b5 have no relation yet.
    assert [m.bank_customer_id for m, _ in w.syncs.sent] == ["b-wm1"]
    # Disabled: the backfill takes the tag away again.
    spec = {"tag": {"group": "客群", "name": "银发客群"}, "when": DORMANT, "enabled": False}
    w.rules.put("silver", TagRuleSpec.model_validate(spec))
    tick_backfill(w)
    assert "客群/银发客群" not in w.earned() and w.rules.backfill("silver").changed == 3
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    tick_backfill(w)
    w.rules.delete("silver")
    tick_backfill(w)
    assert "客群/银发客群" not in w.earned("b4")


def test_backfills_side_by_side_each_count_their_own_and_a_renamed_tag_moves() -> None:
    w = backfill_world()
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    w.rule("young", "客群", "年轻客群", {"field": "profile.age", "op": "<", "value": 30})
    tick_backfill(w)
    assert (w.rules.backfill("silver").changed, w.rules.backfill("young").changed) == (3, 1)
    w.rule("silver", "客群", "长者", {"field": "profile.age", "op": ">=", "value": 60})
    tick_backfill(w)
    assert w.rules.backfill("silver").changed == 3
    assert "客群/长者" in w.earned() and "客群/银发客群" not in w.earned()


def test_a_backfill_resumes_after_a_crash_and_a_page_run_twice_counts_once() -> None:
    w = backfill_world()
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    root = w.cloud.root(tag_rules_refresh_s=0, backfill_page_size=3)
    job = root.tag_backfill()
    first = w.cloud.backfills.get("silver")
    assert first is not None
    after_one = job._page(first)  # one page recorded, then the instance dies
    assert after_one is not None and after_one.evaluated == 3
    assert job._page(first) is None  # a redelivery of the same page: not counted again
    # A run takes the next page and dies holding it: others leave it until the lease ends.
    assert w.cloud.backfills.lease(after_one, w.clock.now() + timedelta(seconds=60), w.clock.now())
    job.tick(Tick())
    assert w.rules.backfill("silver").evaluated == 3
    w.clock.advance(61)
    job.tick(Tick())
    view = w.rules.backfill("silver")
    assert (view.status, view.evaluated, view.changed) == (BackfillStatus.DONE, 7, 3)


def test_saving_a_rule_again_stops_the_earlier_backfill() -> None:
    w = backfill_world()
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    stale = w.cloud.backfills.get("silver")
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 70})
    assert stale is not None
    assert w.cloud.root(backfill_page_size=3).tag_backfill()._page(stale) is None
    assert w.rules.backfill("silver").evaluated == 0


def test_a_preview_counts_gains_and_losses_and_writes_nothing() -> None:
    w = backfill_world()
    w.rule("silver", "客群", "银发客群", {"field": "profile.age", "op": ">=", "value": 60})
    tick_backfill(w)
    before = w.cloud.written()
    writes = w.bank.writes
    draft = TagRuleDraft.model_validate(
        {
            "id": "silver",
            "tag": {"group": "客群", "name": "银发客群"},
            "when": {"field": "profile.age", "op": ">=", "value": 50},
        }
    )
    preview = w.root.tag_backfill().preview(draft)
    assert (preview.evaluated, preview.complete, preview.gain, preview.lose) == (7, True, 1, 0)
    assert preview.sample_gain == ["b3"]
    narrower = draft.model_copy(update={"when": draft.when.model_copy(update={"value": 80})})
    preview = w.root.tag_backfill().preview(narrower)
    assert (preview.gain, preview.lose, sorted(preview.sample_lose)) == (
        0,
        3,
        ["b-wm1", "b4", "b5"],
    )
    assert w.cloud.written() == before and w.bank.writes == writes
    limited = w.cloud.root(preview_limit=4, backfill_page_size=3).tag_backfill().preview(draft)
    assert (limited.evaluated, limited.complete) == (4, False)


# -- a new relation -------------------------------------------------------------------------


def contact_change(w: World, change_type: str, staff: str, **fields: object) -> WeComEvent:
    values = {
        "event": "change_external_contact",
        "change_type": change_type,
        "create_time": int(w.clock.now().timestamp()),
        "user_id": staff,
        "external_user_id": "wm1",
        "raw_sha256": f"{change_type}-{staff}-{w.clock.now()}",
    }
    return WeComEvent.model_validate({**values, **fields})


def test_a_relation_added_later_is_asked_to_receive_the_tags_already_earned() -> None:
    w = quiet_world()
    w.wecom.contact("wm1")
    w.syncs.sent.clear()
    w.root.processor().handle(contact_change(w, "add_external_contact", "lisi"))
    assert [m.bank_customer_id for m, _ in w.syncs.sent] == ["b-wm1"]
    w.sync()
    pushed = {userid for userid, ext, add in w.wecom.marked if ext == "wm1" and add}
    assert pushed == {"zhangsan", "lisi"}
    earned = {t.id for t in w.bank.get("b-wm1")[0].earned_tags}  # type: ignore[union-attr]
    assert set(w.wecom.marked[-1][2]) == earned


def test_link_records_the_marketing_choice_and_the_sync_mirrors_it() -> None:
    w = quiet_world()
    w.profiles.link("b-wm1", BankCustomerLink(marketing_opt_out=True))
    w.sync()
    assert w.customers.docs["wm1"].refuses_marketing


def test_a_re_added_relation_is_pushed_its_tags_again() -> None:
    w = quiet_world()
    w.wecom.contact("wm1")
    w.root.processor().handle(contact_change(w, "del_external_contact", "zhangsan"))
    w.clock.advance(60)
    w.root.processor().handle(contact_change(w, "add_external_contact", "zhangsan"))
    calls = len(w.wecom.marked)
    assert w.sync() == 1 and len(w.wecom.marked) == calls + 1


def test_threads_that_all_miss_the_catalogue_read_it_once_and_get_their_ids() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from siyu.domain.layering import Stage as LayerStage
    from siyu.domain.layering import layer_tags

    w = World()
    reads = []
    original = w.wecom.get_corp_tag_list

    def counted(*args: Any, **kwargs: Any) -> list:
        reads.append(1)
        return original(*args, **kwargs)

    w.wecom.get_corp_tag_list = counted  # type: ignore[method-assign]
    refs = [layer_tags(stage, "重要挽留客户") for stage in LayerStage]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(w.catalog.ids, refs * 8))
    # Each distinct miss loads once (4 stages), not once per thread (32 calls).
    assert len(reads) <= len(refs) and all(len(ids) == 2 and all(ids) for ids in found)
    assert len({tuple(ids) for ids in found}) == len(refs)
