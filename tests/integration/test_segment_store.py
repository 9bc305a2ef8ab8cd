"""The Firestore queries behind re-layering, backfills and follow-up closing, on the emulator:
due customers by next_relayer_at, pages by id, the backfill's conditional advance, and the
follow-up lookups by relation and by journey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu import bootstrap
from siyu.domain.backfills import Backfill, BackfillStatus
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.followups import Followup, FollowupReason, FollowupStatus
from siyu.domain.tags import TagRef

AT = datetime(2026, 11, 25, 2, tzinfo=UTC)


def seed(bcid: str, due: datetime | None) -> None:
    repo = bootstrap.root().stores().bank_customers
    customer = BankCustomer(bank_customer_id=bcid, next_relayer_at=due)
    repo.update_once(f"seed-{bcid}-{due}", bcid, lambda _c: customer)


def test_due_reads_only_customers_whose_moment_has_come_earliest_first(cloud) -> None:
    for n in range(6):
        seed(f"due{n}", AT - timedelta(days=n))
    for n in range(4):
        seed(f"later{n}", AT + timedelta(days=1 + n))
    seed("never", None)
    repo = bootstrap.root().stores().bank_customers
    due = repo.due(AT, 4)
    assert [c.bank_customer_id for c, _ in due] == ["due5", "due4", "due3", "due2"]
    assert {c.bank_customer_id for c, _ in repo.due(AT, 100)} == {f"due{n}" for n in range(6)}
    customer, version = due[0]
    moved = customer.model_copy(update={"next_relayer_at": AT + timedelta(days=30)})
    assert repo.save_if_unchanged(moved, version) is True
    assert repo.save_if_unchanged(moved, version) is False  # the version moved on
    assert len(repo.due(AT, 100)) == 5


def test_pages_go_by_id_and_link_records_the_marketing_choice(cloud) -> None:
    for n in range(7):
        seed(f"p{n}", None)
    repo = bootstrap.root().stores().bank_customers
    first = repo.page("", 3)
    rest = repo.page(first[-1][0].bank_customer_id, 10)
    assert [c.bank_customer_id for c, _ in first + rest] == [f"p{n}" for n in range(7)]
    linked = repo.link("p1", BankCustomerLink(marketing_opt_out=True), AT)
    assert linked.marketing_opt_out is True and linked.consent_at == AT
    relinked = repo.link("p1", BankCustomerLink(external_userid="wm_p1"), AT)
    assert relinked.marketing_opt_out is True and relinked.external_userid == "wm_p1"


def test_a_backfill_advances_only_from_the_cursor_it_read(cloud) -> None:
    repo = bootstrap.root().stores().backfills
    job = Backfill(
        rule_id="r1",
        generation="g1",
        tags=[TagRef(group="客群", name="银发客群")],
        status=BackfillStatus.RUNNING,
        started_at=AT,
        advanced_at=AT,
    )
    repo.start(job)
    step = job.model_copy(update={"cursor": "b300", "evaluated": 300})
    leased = repo.lease(job, AT + timedelta(seconds=60), AT)
    assert leased is not None and repo.lease(job, AT + timedelta(seconds=60), AT) is None
    assert repo.lease(job, AT + timedelta(seconds=120), AT + timedelta(seconds=61))  # expired
    assert repo.advance(job, step) is True
    assert repo.advance(job, step) is False  # the same page again
    repo.start(job.model_copy(update={"generation": "g2"}))
    assert repo.advance(step, step.model_copy(update={"cursor": "b600"})) is False
    assert [b.generation for b in repo.running()] == ["g2"]
    stored = repo.get("r1")
    assert stored is not None and stored.view().evaluated == 0


def test_followups_are_found_by_relation_and_by_journey_until_closed(cloud) -> None:
    repo = bootstrap.root().stores().followups

    def task(fid: str, **fields: object) -> Followup:
        base = {
            "id": fid,
            "external_userid": "wm1",
            "staff_userid": "zhangsan",
            "reason": FollowupReason.REVISIT,
            "due_at": AT,
        }
        return Followup.model_validate({**base, **fields})

    repo.create(task("r1"))
    repo.create(task("r2", status=FollowupStatus.SENT))
    repo.create(task("r3", staff_userid="lisi"))
    repo.create(task("r4", status=FollowupStatus.DONE))
    repo.create(
        task("j1", reason=FollowupReason.JOURNEY_ABANDONED, bank_customer_id="b1", journey="loan")
    )
    found = repo.open_of("wm1", "zhangsan", FollowupReason.REVISIT)
    assert sorted(f.id for f in found) == ["r1", "r2"]
    assert [f.id for f in repo.open_journey("b1", "loan")] == ["j1"]
    repo.save(found[0].model_copy(update={"status": FollowupStatus.CANCELLED}))
    assert len(repo.open_of("wm1", "zhangsan", FollowupReason.REVISIT)) == 1
    got = repo.get("j1")
    assert got is not None and got.journey == "loan" and repo.get("nope") is None


def test_a_backfill_over_firestore_gives_an_existing_customer_the_new_rules_tag(cloud) -> None:
    from siyu.bootstrap import bootstrap
    from siyu.config import Settings
    from siyu.domain.biz_events import BizEvent
    from siyu.domain.tag_rules import TagRuleSpec
    from siyu.services.ticks import Tick
    from tests.fakes import FakeCloud

    fakes = FakeCloud()
    root = bootstrap(Settings(), wecom=fakes.wecom, wecom_app=fakes.wecom, topic=fakes.topic)
    answers = {"questionnaire_id": "q1", "answers": {"fav": "黄金"}}
    for n in range(3):
        payload = {"event_id": f"e{n}", "bank_customer_id": f"b{n}", **answers}
        root.profiles().handle(
            BizEvent.model_validate({"type": "questionnaire", "payload": payload})
        )
    spec = {
        "tag": {"group": "偏好", "name": "黄金"},
        "when": {"field": "answers.q1.fav", "op": "==", "value": "黄金"},
    }
    root.tag_rules().put("gold", TagRuleSpec.model_validate(spec))
    root.tag_backfill().tick(Tick())
    view = root.tag_rules().backfill("gold")
    assert (view.status, view.evaluated, view.changed) == (BackfillStatus.DONE, 3, 3)
    customer, _ = root.stores().bank_customers.get("b1")
    assert customer is not None and ("偏好", "黄金") in {
        (t.group, t.name) for t in customer.earned_tags
    }
