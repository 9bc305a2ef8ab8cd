"""Each callback means what 92130 says it means; WeCom's answers as 92137 and 90313 define them."""

from __future__ import annotations

import pytest

from siyu.domain.customers import RelationStatus
from siyu.domain.errors import TransientError
from siyu.domain.events import Acknowledged, WelcomeState
from siyu.domain.followups import FollowupReason
from siyu.domain.intake import Outcome
from siyu.domain.tags import CorpTag
from siyu.domain.wecom import GroupDismissed, GroupUnreadable
from siyu.domain.welcome import WelcomeStatus

from .test_services import QUERY, FakeCodec, World

CHAT = {"event": "change_external_chat", "external_user_id": "", "welcome_code": ""}
TAG = {"event": "change_external_tag", "external_user_id": "", "welcome_code": ""}


def members(n: int) -> list[dict[str, object]]:
    return [{"userid": f"wm{i}", "type": 2} for i in range(n)]


def test_transfer_fail_leaves_the_customer_with_the_member_who_served_them() -> None:
    w = World()
    p = w.processor()
    p.handle(w.event(welcome_code=""))  # zhangsan serves wm1
    failed = w.event(
        "transfer_fail",
        user_id="lisi",
        fail_reason="customer_refused",
        welcome_code="",
        raw_sha256="f",
    )
    assert p.handle(failed) is True
    assert p.handle(failed) is False
    customer = w.customers.get("wm1")
    assert customer.relation("lisi") is None  # the member whose takeover failed gets nothing
    assert customer.owner_userid == "zhangsan"
    assert [(f.takeover_userid, f.reason) for f in customer.transfer_failures] == [
        ("lisi", "customer_refused")
    ]
    [task] = [t for t in w.followups.docs.values() if t.reason == FollowupReason.TRANSFER_FAILED]
    assert task.staff_userid == "zhangsan"


def test_a_first_seen_group_is_read_and_the_delta_not_added_on_top() -> None:
    w = World()
    w.wecom.chats["wr1"] = {"name": "福利群", "member_list": members(5), "member_version": "v2"}
    join = w.event(
        "update",
        chat_id="wr1",
        update_detail="add_member",
        mem_change_cnt=2,
        last_mem_ver="v1",
        cur_mem_ver="v2",
        raw_sha256="j",
        **CHAT,
    )
    w.processor().handle(join)
    group = w.groups.get("wr1")
    assert (group.member_count, group.member_version) == (5, "v2")  # not 5 + 2


def test_a_delta_applies_only_on_top_of_the_version_it_was_made_from() -> None:
    w = World()
    w.wecom.chats["wr1"] = {"name": "福利群", "member_list": members(3), "member_version": "v1"}
    p = w.processor()
    p.handle(w.event("create", chat_id="wr1", raw_sha256="c", **CHAT))
    reads = len(w.wecom.chat_reads)
    join = {"update_detail": "add_member", "mem_change_cnt": 1, **CHAT}
    p.handle(
        w.event(
            "update", chat_id="wr1", last_mem_ver="v1", cur_mem_ver="v2", raw_sha256="a", **join
        )
    )
    assert w.groups.get("wr1").member_count == 4 and len(w.wecom.chat_reads) == reads  # no read
    # v3 → v4 arrives but siyu holds v2: a change was missed, so WeCom is read instead.
    w.wecom.chats["wr1"] = {"name": "福利群", "member_list": members(7), "member_version": "v4"}
    p.handle(
        w.event(
            "update", chat_id="wr1", last_mem_ver="v3", cur_mem_ver="v4", raw_sha256="b", **join
        )
    )
    group = w.groups.get("wr1")
    assert (group.member_count, group.member_version) == (7, "v4")


def test_a_dismissed_group_is_marked_and_an_unreadable_one_acknowledged() -> None:
    w = World()
    w.wecom.chat_errors["wr1"] = GroupDismissed("groupchat/get: errcode 49008", 49008)
    w.wecom.chat_errors["wr2"] = GroupUnreadable("groupchat/get: errcode 40050", 40050)
    p = w.processor()
    p.handle(w.event("create", chat_id="wr1", raw_sha256="1", **CHAT))
    assert w.groups.get("wr1").status == "dismissed"
    assert p.handle(w.event("create", chat_id="wr2", raw_sha256="2", **CHAT)) is False
    assert w.groups.get("wr2") is None


def test_a_tag_group_is_read_by_group_id_and_its_deletion_deletes_its_tags() -> None:
    w = World()
    w.wecom.tags = [
        CorpTag(id="t1", name="A", group_id="g1", group_name="等级"),
        CorpTag(id="t2", name="B", group_id="g1", group_name="等级"),
        CorpTag(id="t3", name="C", group_id="g2", group_name="兴趣"),
    ]
    p = w.processor()
    p.handle(w.event("create", tag_id="g1", tag_type="tag_group", raw_sha256="c", **TAG))
    assert w.wecom.tag_list_calls[-1] == (None, ["g1"])
    assert sorted(w.tags.docs) == ["t1", "t2"]
    p.handle(w.event("create", tag_id="t3", tag_type="tag", raw_sha256="d", **TAG))
    assert w.wecom.tag_list_calls[-1] == (["t3"], None)
    p.handle(w.event("delete", tag_id="g1", tag_type="tag_group", raw_sha256="e", **TAG))
    assert {t: d.deleted for t, d in w.tags.docs.items()} == {"t1": True, "t2": True, "t3": False}


def test_identical_edit_callbacks_from_two_deliveries_are_both_applied() -> None:
    """Two edits by one member in one second are byte-identical: only the delivery differs."""
    w = World()
    p = w.processor()
    p.handle(w.event(welcome_code=""))
    first = w.event("edit_external_contact", welcome_code="", raw_sha256="same", delivery="d1")
    second = first.model_copy(update={"delivery": "d2"})
    assert first.dedupe_key != second.dedupe_key
    tag = {"tag_id": "t1", "tag_name": "A", "group_name": "G", "type": 1}
    w.wecom.contact("wm1", follow_user=[{"userid": "zhangsan", "tags": [tag]}])
    assert p.handle(first) is True
    w.wecom.contacts["wm1"]["follow_user"][0]["tags"].append({**tag, "tag_id": "t2"})
    assert p.handle(second) is True
    assert {t.id for t in w.customers.get("wm1").tags} == {"t1", "t2"}
    # A redelivery of one message is still a duplicate, and an add never uses the delivery.
    assert p.handle(second) is False
    add = w.event(delivery="d1")
    assert add.dedupe_key == add.model_copy(update={"delivery": "d2"}).dedupe_key


def test_msg_audit_approved_and_unmapped_kinds_change_nothing() -> None:
    w = World()
    p = w.processor()
    assert p.handle(w.event("msg_audit_approved")) is False
    assert p.handle(w.event("a_future_change_type", welcome_code="")) is False
    assert w.customers.get("wm1") is None and w.wecom.welcomes == []


def test_msg_audit_approved_is_not_welcomed_by_the_fast_path() -> None:
    w = World()
    w.intake(FakeCodec(w.event("msg_audit_approved"))).receive(QUERY, b"")
    assert w.wecom.welcomes == [] and w.publisher.published[0].welcome is WelcomeState.NONE


def test_an_acknowledged_message_is_neither_stored_nor_published() -> None:
    w = World()
    result = w.intake(FakeCodec(Acknowledged(msg_type="text"))).receive(QUERY, b"")  # type: ignore[arg-type]
    assert result.outcome is Outcome.ACKNOWLEDGED
    assert w.inbox.docs == {} and w.publisher.published == []


def test_an_expired_code_is_never_counted_as_welcomed() -> None:
    w = World()
    w.wecom.expired = {"WC1"}
    w.intake(FakeCodec(w.event())).receive(QUERY, b"")
    event = w.publisher.published[0]
    assert event.welcome is WelcomeState.PENDING
    w.processor().handle(event)
    assert w.ledger.docs["WC1"]["status"] is WelcomeStatus.EXPIRED
    assert w.funnel.of("welcomed") == [] and len(w.funnel.of("added")) == 1


def test_a_busy_code_is_handed_off_and_the_worker_sends_it_later() -> None:
    """41096: another app is sending it; not delivered, so a retry may follow."""
    w = World()
    w.wecom.busy_welcome = 2
    w.intake(FakeCodec(w.event())).receive(QUERY, b"")
    event = w.publisher.published[0]
    assert event.welcome is WelcomeState.PENDING and w.wecom.welcomes == []
    with pytest.raises(TransientError):
        w.processor().handle(event)  # still busy: Pub/Sub redelivers
    w.processor().handle(event)
    assert len(w.wecom.welcomes) == 1 and len(w.funnel.of("welcomed")) == 1
    assert w.customers.get("wm1").relation("zhangsan").status is RelationStatus.ACTIVE
