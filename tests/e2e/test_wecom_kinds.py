"""One callback of every documented kind through the stack (92130, 92005, 90239, 90240,
90968, 97299): each is answered 200 and has the effect docs/wecom.md lists, no more."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.devstack.waiting import until
from tests.docs_examples import OTHER_MESSAGES, xml

from .conftest import worker_logged
from .test_callback_path import add, unique, wait_customer


def emit(sim: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = sim.post("/_sim/emit", json=fields)
    r.raise_for_status()
    answer = dict(r.json())
    assert [d["status"] for d in answer["deliveries"]] == [200], answer["deliveries"]
    assert answer["deliveries"][0]["tries"] == 1
    return answer


def fields_of(name: str) -> dict[str, Any]:
    """A doc example's top-level elements as /_sim/emit takes them (nested ones as text)."""
    from defusedxml import ElementTree

    root = ElementTree.fromstring(xml(name))
    return {child.tag: (child.text or "").strip() for child in root if len(child) == 0}


@pytest.mark.parametrize("name", OTHER_MESSAGES)
def test_the_apps_own_messages_and_events_are_acknowledged(sim, db, name: str) -> None:
    inbox = db.collection("inbox")
    before = inbox.count().get()[0][0].value
    emit(sim, **{**fields_of(name), "CreateTime": int(time.time())})
    # The callback stores every event it publishes before answering: none was stored.
    assert inbox.count().get()[0][0].value == before


def test_customer_acquisition_is_acknowledged(sim, db, bus) -> None:
    ext = unique("wm")
    emit(
        sim,
        Event="customer_acquisition",
        ChangeType="message_from_customer",
        UserID="zhangsan",
        ExternalUserID=ext,
        LinkId="cawcdea7783d7330c6",
        ChatKey="CHATKEY",
    )
    assert bus.published_for(ext) == []  # acknowledged, never published: nothing can land
    assert db.collection("customers").document(ext).get().exists is False


def test_transfer_fail_keeps_the_customer_with_the_member_who_served_them(sim, ops) -> None:
    ext, taker = unique("wm"), unique("lisi")
    add(sim, ext, WelcomeCode="")
    assert wait_customer(ops, ext, timeout_s=5) is not None
    emit(
        sim,
        Event="change_external_contact",
        ChangeType="transfer_fail",
        FailReason="customer_limit_exceed",
        UserID=taker,
        ExternalUserID=ext,
    )

    def failure_recorded() -> dict[str, Any] | None:
        customer = ops.get(f"/ops/customers/{ext}").json()
        return customer if customer.get("transfer_failures") else None

    customer = until(failure_recorded, timeout_s=5)
    assert customer is not None
    assert {r["staff_userid"]: r["status"] for r in customer["relations"]} == {"zhangsan": "active"}
    assert customer["owner_userid"] == "zhangsan"
    assert customer["transfer_failures"][0]["takeover_userid"] == taker


def test_msg_audit_approved_changes_nothing(stack, sim, ops) -> None:
    ext = unique("wm")
    emit(
        sim,
        Event="change_external_contact",
        ChangeType="msg_audit_approved",
        UserID="zhangsan",
        ExternalUserID=ext,
        WelcomeCode="WELCOMECODE",
    )
    # The worker has handled it once it logs so; only then is "nothing changed" a fact.
    assert until(lambda: worker_logged(stack, "msg_audit_approved ignored", ext), timeout_s=15)
    assert ops.get(f"/ops/customers/{ext}").status_code == 404


def test_member_changes_follow_versions_and_a_first_seen_group_is_read(sim, ops) -> None:
    chat = unique("wr")
    sim.post("/_sim/groups", json={"chat_id": chat, "members": 3}).raise_for_status()
    joiners = [unique("wm"), unique("wm")]
    base = {"Event": "change_external_chat", "ChangeType": "update", "ChatId": chat}
    emit(sim, **base, UpdateDetail="add_member", JoinScene=3, MemChangeList=joiners)
    count = lambda: ops.get(f"/ops/groups/{chat}").json().get("member_count")  # noqa: E731
    assert until(lambda: count() == 5, timeout_s=5)  # read from WeCom, not 5 + 2
    emit(sim, **base, UpdateDetail="del_member", QuitScene=0, MemChangeList=joiners[:1])
    assert until(lambda: count() == 4, timeout_s=5)  # versions agree: the delta applies
    emit(sim, ChangeType="dismiss", Event="change_external_chat", ChatId=chat)
    assert until(lambda: ops.get(f"/ops/groups/{chat}").json()["status"] == "dismissed", 5)


def test_a_deleted_tag_group_takes_its_tags_along(sim, db) -> None:
    group_name = unique("组")[:20]
    created = emit(
        sim,
        Event="change_external_tag",
        ChangeType="create",
        TagType="tag_group",
        GroupName=group_name,
        Names=["甲", "乙"],
    )
    group_id = created["event"]["Id"]
    tags = db.collection("tags").where(filter=FieldFilter("group_id", "==", group_id))
    assert until(lambda: len(list(tags.stream())) == 2, timeout_s=5)
    emit(sim, Event="change_external_tag", ChangeType="delete", TagType="tag_group", Id=group_id)
    assert until(lambda: all(t.to_dict()["deleted"] for t in tags.stream()), timeout_s=5)


def test_two_identical_edits_in_one_second_are_both_applied(sim, ops) -> None:
    ext = unique("wm")
    add(sim, ext, WelcomeCode="")
    assert wait_customer(ops, ext, timeout_s=5) is not None
    made = emit(
        sim,
        Event="change_external_tag",
        ChangeType="create",
        TagType="tag_group",
        GroupName=unique("兴趣")[:20],
        Names=["基金", "理财"],
    )
    tag_ids = [
        t["id"] for t in sim.get("/_sim/tags").json() if t["group_id"] == made["event"]["Id"]
    ]
    second = int(time.time())
    edit = {
        "Event": "change_external_contact",
        "ChangeType": "edit_external_contact",
        "UserID": "zhangsan",
        "ExternalUserID": ext,
        "CreateTime": second,
    }
    first = emit(sim, **edit, AddTags=tag_ids[:1])
    again = emit(sim, **edit, AddTags=tag_ids[1:])
    assert first["event"] == again["event"]  # byte-identical as WeCom sends them

    def both() -> bool:
        held = {t["id"] for t in ops.get(f"/ops/customers/{ext}").json()["tags"]}
        return held == set(tag_ids)

    assert until(both, timeout_s=5)
