"""Follow-ups close: done and snoozed by staff, cancelled when a journey completes or when the
relation ends before a revisit falls due; opt-out and staff deletions seen downstream."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu.domain.bank_customers import BankCustomerLink
from siyu.domain.campaigns import Target
from siyu.domain.errors import Conflict, InvalidInput, NotFound
from siyu.domain.followups import Done, FollowupReason, FollowupStatus, Snooze
from siyu.domain.funnel import Milestone
from siyu.services.ticks import Tick
from tests.unit.test_campaigns import REPEAT, spec
from tests.unit.test_campaigns import World as CampaignWorld
from tests.unit.test_profile import World
from tests.unit.test_segments_over_time import contact_change


def abandoned(w: World, event_id: str, journey: str = "loan_application", hours: int = 0):
    at = (w.clock.now() + timedelta(hours=hours)).isoformat()
    w.send("journey_abandoned", event_id, "b-wm1", journey=journey, step="身份验证", occurred_at=at)


def completed(w: World, event_id: str, journey: str = "loan_application", hours: int = 0):
    at = (w.clock.now() + timedelta(hours=hours)).isoformat()
    w.send("journey_completed", event_id, "b-wm1", journey=journey, occurred_at=at)


def open_journey_tasks(w: World) -> list[str]:
    return [
        f.id
        for f in w.followups.docs.values()
        if f.reason is FollowupReason.JOURNEY_ABANDONED and f.status is FollowupStatus.OPEN
    ]


def test_a_completed_journey_cancels_its_follow_up_and_the_abandoned_fact() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    w.rule(
        "loan",
        "意向",
        "贷款意向",
        {"field": "journeys_abandoned", "op": "contains", "value": "loan_application"},
    )
    abandoned(w, "a1")
    abandoned(w, "a2", journey="card_application")
    assert len(open_journey_tasks(w)) == 2 and "意向/贷款意向" in w.earned()
    completed(w, "c1", hours=1)
    [left] = open_journey_tasks(w)
    assert w.followups.docs[left].journey == "card_application"
    cancelled = [f for f in w.followups.docs.values() if f.status is FollowupStatus.CANCELLED]
    assert [f.journey for f in cancelled] == ["loan_application"]
    assert "意向/贷款意向" not in w.earned()
    # The stop arriving late (it happened before the completion) raises nothing.
    abandoned(w, "a0", hours=-2)
    assert len(open_journey_tasks(w)) == 1 and "意向/贷款意向" not in w.earned()
    # A new stop after the completion is a new abandonment.
    abandoned(w, "a3", hours=3)
    assert len(open_journey_tasks(w)) == 2


def test_staff_mark_a_follow_up_done_or_snooze_it() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    abandoned(w, "a1")
    [fid] = open_journey_tasks(w)
    book = w.root.followup_book()
    until = w.clock.now() + timedelta(days=2)
    snoozed = book.snooze(fid, Snooze(until=until, note="客户出差"))
    assert (snoozed.status, snoozed.due_at) == (FollowupStatus.OPEN, until)
    assert w.followups.due(w.clock.now() + timedelta(days=1), 10) == []
    assert [f.id for f in w.followups.due(until, 10)] == [fid]
    with pytest.raises(InvalidInput, match="until"):
        book.snooze(fid, Snooze(until=w.clock.now() - timedelta(minutes=1)))
    with pytest.raises(InvalidInput, match="90 days"):
        book.snooze(fid, Snooze(until=w.clock.now() + timedelta(days=91)))
    done = book.done(fid, Done(note="已回电"))
    assert done.status is FollowupStatus.DONE and done.closed_at == w.clock.now()
    w.clock.advance(60)
    assert book.done(fid, Done()) == done  # again: unchanged
    with pytest.raises(Conflict):
        book.snooze(fid, Snooze(until=until))
    with pytest.raises(NotFound):
        book.done("missing", Done())


def test_revisits_of_a_relation_that_ended_are_cancelled_not_sent() -> None:
    w = World()
    w.wecom.contact("wm1")
    processor = w.root.processor()
    processor.handle(contact_change(w, "add_external_contact", "zhangsan"))
    processor.handle(contact_change(w, "add_external_contact", "lisi"))
    revisits = [f for f in w.followups.docs.values() if f.reason is FollowupReason.REVISIT]
    assert len(revisits) == 4
    w.clock.advance(60)
    processor.handle(contact_change(w, "del_external_contact", "zhangsan"))
    w.clock.advance(60)
    processor.handle(contact_change(w, "del_follow_user", "lisi"))
    statuses = {f.status for f in w.followups.docs.values() if f.reason is FollowupReason.REVISIT}
    assert statuses == {FollowupStatus.CANCELLED}
    # The staff deleting the customer and the customer deleting the staff count apart.
    assert len(w.cloud.funnel.of(Milestone.DELETED)) == 1
    assert len(w.cloud.funnel.of(Milestone.LOST)) == 1


def test_the_tick_cancels_a_revisit_whose_relation_ended_unseen() -> None:
    w = World()
    w.wecom.contact("wm1")
    processor = w.root.processor()
    processor.handle(contact_change(w, "add_external_contact", "zhangsan"))
    # The relation ends in siyu's record without the cancellation (an older deployment).
    w.customers.docs["wm1"] = w.customers.docs["wm1"].model_copy(
        update={
            "relations": [
                r.model_copy(update={"status": "deleted"})
                for r in w.customers.docs["wm1"].relations
            ]
        }
    )
    w.clock.advance(86400 * 11)
    assert w.root.followup_notifier().tick(Tick()) == {}
    assert w.wecom.texts == []
    assert {f.status for f in w.followups.docs.values()} == {FollowupStatus.CANCELLED}


def test_a_campaign_skips_customers_who_refuse_marketing_and_says_how_many() -> None:
    w = CampaignWorld()
    w.customers(10, 2, REPEAT)
    w.audience.customers_by_tag += [
        (Target(id=f"no{i}", owner="staff0", opted_out=True), REPEAT) for i in range(3)
    ]
    w.book.put("c1", spec())
    assert w.book.preview("c1").opted_out == 3
    w.planner.tick(Tick())
    [run] = w.runs.docs.values()
    assert (run.audience, run.opted_out) == (10, 3)
    sent = {t for b in w.batches() for t in b.targets}
    assert len(sent) == 10 and not any(t.startswith("no") for t in sent)


def test_opt_out_comes_from_ops_or_a_consent_event_and_the_latest_wins() -> None:
    w = World()
    w.contact("wm1", "zhangsan")
    now = w.clock.now()
    w.send("marketing_consent", "m1", "b-wm1", opt_out=True, occurred_at=now.isoformat())
    late = (now - timedelta(days=1)).isoformat()
    w.send("marketing_consent", "m0", "b-wm1", opt_out=False, occurred_at=late)
    customer, _ = w.bank.get("b-wm1")
    assert customer is not None and customer.marketing_opt_out is True
    w.sync()
    assert w.customers.docs["wm1"].marketing_opt_out is True
    w.clock.advance(60)
    w.profiles.link("b-wm1", BankCustomerLink(marketing_opt_out=False))
    w.sync()
    assert w.customers.docs["wm1"].refuses_marketing is False
