"""The callback intake and the event worker, with in-memory fakes of every port."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu.domain.channels import Channel
from siyu.domain.customers import RelationStatus, TagSource
from siyu.domain.errors import Forbidden, TransientError
from siyu.domain.events import Acknowledged, WeComEvent, WelcomeState
from siyu.domain.followups import FollowupReason
from siyu.domain.groups import Group, Location
from siyu.domain.inbox import InboxStatus
from siyu.domain.intake import CallbackQuery, Outcome
from siyu.domain.welcome import WelcomeStatus
from siyu.services.intake import CallbackIntake, InboxSweeper
from siyu.services.wecom_events import WeComEventProcessor
from tests.fakes import (
    FakeCloud,
)

QUERY = CallbackQuery(msg_signature="a" * 40, timestamp="0", nonce="n")


class FakeCodec:
    def __init__(self, event: WeComEvent | None = None, forged: bool = False) -> None:
        self.event = event
        self.forged = forged

    def open_echo(self, query: CallbackQuery, echostr: str) -> str:
        return "echo"

    def open_event(self, query: CallbackQuery, body: bytes) -> WeComEvent | Acknowledged:
        if self.forged:
            raise Forbidden("-40001")
        assert self.event is not None
        return self.event


class World:
    """The production wiring (siyu.bootstrap) on fakes; only the callback codec is faked."""

    def __init__(self) -> None:
        c = self.cloud = FakeCloud()
        self.clock, self.wecom, self.customers, self.groups = (
            c.clock,
            c.wecom,
            c.customers,
            c.groups,
        )
        self.tags, self.channels, self.followups = c.tags, c.channels, c.followups
        self.bank_customers, self.funnel, self.inbox, self.ledger = (
            c.bank_customers,
            c.funnel,
            c.inbox,
            c.welcomes,
        )
        self.root = c.root(
            default_welcome_text="默认欢迎语", welcome_window_s=20, welcome_budget_s=1.5
        )
        self.publisher = c.topic(self.root.settings.topic_wecom_events)
        self.welcome = self.root.welcome_sender()

    def intake(
        self, codec: FakeCodec, replay_window_s: int = 0, budget_s: float = 1.5
    ) -> CallbackIntake:
        return CallbackIntake(
            codec,
            self.inbox,
            self.publisher,
            self.welcome,
            self.clock,
            replay_window_s=replay_window_s,
            welcome_budget_s=budget_s,
        )

    def processor(self) -> WeComEventProcessor:
        return self.root.processor()

    def event(self, change_type: str = "add_external_contact", **fields: object) -> WeComEvent:
        values = {
            "event": "change_external_contact",
            "change_type": change_type,
            "create_time": int(self.clock.now().timestamp()),
            "user_id": "zhangsan",
            "external_user_id": "wm1",
            "state": "card_alert",
            "welcome_code": "WC1",
            "raw_sha256": "h",
        }
        return WeComEvent.model_validate({**values, **fields})


def test_forged_callback_has_no_side_effect() -> None:
    w = World()
    with pytest.raises(Forbidden):
        w.intake(FakeCodec(forged=True)).receive(QUERY, b"")
    assert w.inbox.docs == {} and w.publisher.published == [] and w.wecom.welcomes == []


def test_stale_timestamp_is_refused_before_any_write() -> None:
    w = World()
    query = QUERY.model_copy(update={"timestamp": str(int(w.clock.now().timestamp()) - 301)})
    with pytest.raises(Forbidden, match="replay window"):
        w.intake(FakeCodec(w.event()), replay_window_s=300).receive(query, b"")
    assert w.inbox.docs == {} and w.wecom.welcomes == []


def test_fast_path_sends_the_welcome_and_tells_the_worker() -> None:
    w = World()
    w.channels.put(Channel(state="card_alert", name="动账", welcome_text="欢迎！"))
    result = w.intake(FakeCodec(w.event())).receive(QUERY, b"")
    assert result.outcome is Outcome.ACCEPTED
    assert w.wecom.welcomes == ["欢迎！"]
    assert w.publisher.published[0].welcome is WelcomeState.SENT
    w.processor().handle(w.publisher.published[0])
    assert w.wecom.welcomes == ["欢迎！"]  # the worker did not send again


def test_duplicates_are_absorbed_after_the_first_publish() -> None:
    w = World()
    intake = w.intake(FakeCodec(w.event()))
    outcomes = [intake.receive(QUERY, b"").outcome for _ in range(5)]
    assert outcomes == [Outcome.ACCEPTED] + [Outcome.DUPLICATE] * 4
    assert len(w.publisher.published) == 1 and len(w.wecom.welcomes) == 1


def test_a_failed_publish_is_kept_in_the_inbox_and_swept_once() -> None:
    w = World()
    intake = w.intake(FakeCodec(w.event(welcome_code="")))
    w.publisher.fail = True
    assert intake.receive(QUERY, b"").outcome is Outcome.KEPT  # 200: the inbox holds it
    sweeper = InboxSweeper(w.inbox, w.publisher, w.clock, min_age_s=30)
    assert sweeper.sweep() == 0  # still failing, and too young anyway
    w.publisher.fail = False
    assert sweeper.sweep() == 0  # younger than 30 s: maybe still its callback's
    w.clock.advance(31)
    assert sweeper.sweep() == 1
    assert sweeper.sweep() == 0
    assert len(w.publisher.published) == 1
    assert intake.receive(QUERY, b"").outcome is Outcome.DUPLICATE  # WeCom's retry
    assert len(w.publisher.published) == 1


def test_a_retry_publishes_what_the_first_delivery_kept() -> None:
    w = World()
    intake = w.intake(FakeCodec(w.event(welcome_code="")))
    w.publisher.fail = True
    intake.receive(QUERY, b"")
    w.publisher.fail = False
    assert intake.receive(QUERY, b"").outcome is Outcome.DUPLICATE
    assert len(w.publisher.published) == 1
    assert InboxSweeper(w.inbox, w.publisher, w.clock, min_age_s=0).sweep() == 0


def test_only_when_inbox_and_publish_both_fail_is_the_callback_refused() -> None:
    w = World()
    intake = w.intake(FakeCodec(w.event(welcome_code="")))
    w.inbox.down = True
    assert intake.receive(QUERY, b"").outcome is Outcome.ACCEPTED  # Pub/Sub holds it
    w.publisher.fail = True
    with pytest.raises(TransientError):  # 503: nobody holds it
        intake.receive(QUERY, b"")


def test_failed_fast_path_hands_the_welcome_to_the_worker_exactly_once() -> None:
    w = World()
    w.wecom.fail_welcome = 1
    w.intake(FakeCodec(w.event())).receive(QUERY, b"")
    event = w.publisher.published[0]
    assert event.welcome is WelcomeState.PENDING and w.wecom.welcomes == []
    w.processor().handle(event)
    w.processor().handle(event)  # redelivered
    assert len(w.wecom.welcomes) == 1
    assert w.ledger.docs["WC1"]["status"] is WelcomeStatus.SENT


def test_worker_waits_while_the_callback_is_still_sending() -> None:
    w = World()
    assert w.ledger.claim("WC1", "callback", 3.5).granted
    with pytest.raises(TransientError, match="still sending"):
        w.processor().handle(w.event(welcome=WelcomeState.PENDING))
    w.clock.advance(4)  # the callback died: its claim went stale
    w.processor().handle(w.event(welcome=WelcomeState.PENDING, raw_sha256="h2"))
    assert len(w.wecom.welcomes) == 1


def test_worker_gives_up_once_the_window_closed() -> None:
    w = World()
    event = w.event(welcome=WelcomeState.PENDING)
    w.clock.advance(21)
    w.processor().handle(event)
    assert w.wecom.welcomes == [] and w.ledger.docs["WC1"]["status"] is WelcomeStatus.EXPIRED


def test_add_applies_channel_tags_in_wecom_and_locally_once() -> None:
    w = World()
    w.channels.put(Channel(state="card_alert", name="动账", welcome_text="hi", tag_ids=["t1"]))
    event = w.event(welcome_code="")
    assert w.processor().handle(event) is True
    assert w.processor().handle(event) is False
    customer = w.customers.get("wm1")
    assert [(r.staff_userid, r.state, r.status) for r in customer.relations] == [
        ("zhangsan", "card_alert", RelationStatus.ACTIVE)
    ]
    assert [(t.id, t.source) for t in customer.tags] == [("t1", TagSource.CHANNEL)]
    assert w.wecom.marked[0] == ("zhangsan", "wm1", ["t1"])


def test_lost_customer_raises_a_follow_up_through_another_relation() -> None:
    w = World()
    p = w.processor()
    p.handle(w.event(welcome_code=""))
    p.handle(w.event(welcome_code="", user_id="lisi", raw_sha256="h2"))
    lost = w.event("del_follow_user", welcome_code="", raw_sha256="h3")
    p.handle(lost)
    p.handle(lost)
    customer = w.customers.get("wm1")
    assert customer.relation("zhangsan").status is RelationStatus.LOST
    assert customer.relation("lisi").status is RelationStatus.ACTIVE
    [task] = [t for t in w.followups.docs.values() if t.reason == "lost_customer"]
    assert (task.reason, task.staff_userid) == ("lost_customer", "lisi")


def test_delete_by_transfer_is_not_a_loss() -> None:
    w = World()
    p = w.processor()
    p.handle(w.event(welcome_code=""))
    p.handle(
        w.event(
            "del_external_contact", welcome_code="", source="DELETE_BY_TRANSFER", raw_sha256="h2"
        )
    )
    assert w.customers.get("wm1").relation("zhangsan").status is RelationStatus.TRANSFERRED
    assert {t.reason for t in w.followups.docs.values()} == {FollowupReason.REVISIT}


def test_manual_tags_follow_staff_edits_without_touching_channel_tags() -> None:
    w = World()
    w.channels.put(Channel(state="card_alert", name="动账", welcome_text="hi", tag_ids=["t1"]))
    p = w.processor()
    p.handle(w.event(welcome_code=""))
    w.wecom.contact(
        "wm1",
        follow_user=[
            {
                "userid": "zhangsan",
                "tags": [
                    {"tag_id": "t9", "tag_name": "高净值", "group_name": "等级", "type": 1},
                    {"tag_id": "personal", "tag_name": "x", "type": 2},
                ],
            }
        ],
    )
    p.handle(w.event("edit_external_contact", welcome_code="", raw_sha256="h2"))
    tags = {t.id: t.source for t in w.customers.get("wm1").tags}
    assert tags == {"t1": TagSource.CHANNEL, "t9": TagSource.MANUAL}


def test_group_member_changes_apply_once() -> None:
    w = World()
    w.wecom.chats["wr1"] = {
        "name": "福利群",
        "owner": "zhangsan",
        "member_list": [{"userid": "zhangsan", "type": 1}, {"userid": "wm9", "type": 2}],
    }
    p = w.processor()
    base = {
        "event": "change_external_chat",
        "chat_id": "wr1",
        "external_user_id": "",
        "welcome_code": "",
    }
    p.handle(w.event("create", **base))
    join = w.event("update", update_detail="add_member", mem_change_cnt=3, raw_sha256="j", **base)
    p.handle(join)
    p.handle(join)
    assert w.groups.get("wr1").member_count == 5
    p.handle(w.event("dismiss", raw_sha256="d", **base))
    assert w.groups.get("wr1").status == "dismissed"


def test_corp_tag_events_keep_the_catalogue_in_step() -> None:
    from siyu.domain.tags import CorpTag

    w = World()
    w.wecom.tags = [CorpTag(id="t1", name="VIP", group_name="等级")]
    base = {"event": "change_external_tag", "external_user_id": "", "welcome_code": ""}
    w.processor().handle(w.event("create", tag_id="t1", tag_type="tag", **base))
    assert w.tags.docs["t1"].name == "VIP" and not w.tags.docs["t1"].deleted
    w.processor().handle(w.event("delete", tag_id="t1", tag_type="tag", **base))
    assert w.tags.docs["t1"].deleted


def test_a_new_relation_gets_its_revisits_once() -> None:
    w = World()
    p = w.processor()
    p.handle(w.event("add_half_external_contact", welcome_code=""))
    p.handle(w.event(welcome_code="", raw_sha256="h2"))  # the half add becomes a full one
    p.handle(w.event(welcome_code="", raw_sha256="h2"))  # and is delivered twice
    tasks = sorted(w.followups.docs.values(), key=lambda t: t.due_at)
    added = w.clock.now()
    assert [(t.reason, t.staff_userid) for t in tasks] == [(FollowupReason.REVISIT, "zhangsan")] * 2
    assert [(t.due_at - added, t.window_end - added) for t in tasks if t.window_end] == [
        (timedelta(days=3), timedelta(days=3)),
        (timedelta(days=7), timedelta(days=10)),
    ]
    p.handle(w.event("del_external_contact", welcome_code="", raw_sha256="h3"))
    w.clock.advance(60)
    p.handle(w.event(welcome_code="", raw_sha256="h4"))  # deleted, then added back: new revisits
    assert len(w.followups.docs) == 4


def test_funnel_milestones_are_noted_once_with_channel_staff_and_city() -> None:
    w = World()
    w.channels.put(Channel(state="card_alert", name="动账提醒", welcome_text="hi", city="上海"))
    p = w.processor()
    for copy in ("h1", "h1", "h2"):  # a duplicate, then a second add of the same relation
        p.handle(w.event(welcome=WelcomeState.PENDING, raw_sha256=copy))
    [added] = w.funnel.of("added")
    assert (added.channel, added.staff, added.city) == ("动账提醒", "zhangsan", "上海")
    assert len(w.funnel.of("welcomed")) == 1
    p.handle(w.event("del_follow_user", welcome_code="", raw_sha256="h3"))
    p.handle(w.event("del_follow_user", welcome_code="", raw_sha256="h3"))
    [lost] = w.funnel.of("lost")
    assert lost.channel == "动账提醒"


def test_a_join_of_a_benefit_group_is_noted_in_the_groups_city() -> None:
    w = World()
    w.channels.put(Channel(state="card_alert", name="动账提醒", welcome_text="hi", city="上海"))
    p = w.processor()
    p.handle(w.event(welcome_code=""))
    w.groups.put(
        Group(
            chat_id="wr1",
            owner_userid="zhangsan",
            city="深圳",
            updated_at=w.clock.now(),
            location=Location(
                lat=22.5,
                lng=114.0,
                geohash="ws10",
                source_lat=22.5,
                source_lng=114.0,
                source_system="wgs84",
            ),
            join_url="https://qr.example/1",
        )
    )
    join = {
        "event": "change_external_chat",
        "change_type": "update",
        "update_detail": "add_member",
        "chat_id": "wr1",
        "mem_change_cnt": 1,
        "mem_change_list": ["wm1"],
        "create_time": int(w.clock.now().timestamp()),
        "raw_sha256": "j1",
    }
    p.handle(WeComEvent.model_validate(join))
    p.handle(WeComEvent.model_validate(join))
    [joined] = w.funnel.of("joined_group")
    assert (joined.channel, joined.staff, joined.city) == ("动账提醒", "zhangsan", "深圳")


def test_a_duplicate_while_the_first_delivery_is_in_flight_publishes_the_stored_event() -> None:
    """WeCom retries after 5 s; the first delivery may have claimed the inbox and still be
    publishing (or have died). The retry publishes what the inbox holds; later ones do not."""
    w = World()
    first = w.event(welcome_code="")
    in_flight = first.model_copy(update={"welcome": WelcomeState.NONE})
    assert w.inbox.claim(f"cb-{first.dedupe_key}", in_flight)  # claimed, never published
    intake = w.intake(FakeCodec(first))
    result = intake.receive(QUERY, b"")
    assert result.outcome is Outcome.DUPLICATE and result.message_id == "1"
    assert w.publisher.published == [in_flight]
    assert w.inbox.docs[f"cb-{first.dedupe_key}"].status is InboxStatus.PUBLISHED
    assert intake.receive(QUERY, b"").outcome is Outcome.DUPLICATE
    assert len(w.publisher.published) == 1  # published once: later retries are absorbed


def test_a_contact_wecom_cannot_read_is_still_added_without_a_name() -> None:
    """84061 on externalcontact/get (92114): the add is recorded; the name is enrichment."""
    w = World()
    assert "wm1" not in w.wecom.contacts
    assert w.processor().handle(w.event(welcome_code="")) is True
    customer = w.customers.get("wm1")
    assert customer is not None and customer.name == ""
    assert customer.relation("zhangsan").status is RelationStatus.ACTIVE
