"""WeCom's own examples (tests/data/wecom_docs) read by siyu's parser and answer models."""

from __future__ import annotations

import pytest

from siyu.adapters.wecom.client import _split
from siyu.adapters.wecom.events import parse_event
from siyu.domain.events import Acknowledged, WeComEvent
from siyu.domain.transfers import WECOM_STATUS, CustomerStatus
from siyu.domain.wecom import (
    ExternalContact,
    GroupChat,
    GroupMsgSend,
    GroupMsgTask,
    TransferResult,
)
from tests.docs_examples import CUSTOMER_EVENTS, OTHER_MESSAGES, example, xml


def test_the_examples_are_all_there() -> None:
    assert len(CUSTOMER_EVENTS) == 14 and len(OTHER_MESSAGES) == 12


@pytest.mark.parametrize("name", CUSTOMER_EVENTS)
def test_every_customer_event_example_parses(name: str) -> None:
    parsed = parse_event(xml(name))
    assert isinstance(parsed, WeComEvent)
    assert parsed.create_time == 1403610513


@pytest.mark.parametrize("name", OTHER_MESSAGES)
def test_every_app_message_and_event_example_is_acknowledged(name: str) -> None:
    assert isinstance(parse_event(xml(name)), Acknowledged)


def test_transfer_fail_names_the_member_whose_takeover_failed() -> None:
    parsed = parse_event(xml("92130_transfer_fail"))
    assert isinstance(parsed, WeComEvent)
    assert (parsed.change_type, parsed.user_id, parsed.fail_reason) == (
        "transfer_fail",
        "zhangsan",
        "customer_refused",
    )


def test_a_member_change_carries_its_list_and_versions() -> None:
    parsed = parse_event(xml("92130_chat_update"))
    assert isinstance(parsed, WeComEvent)
    assert parsed.mem_change_list == ("Jack", "Rose")
    assert (parsed.last_mem_ver, parsed.cur_mem_ver) == (
        "9c3f97c2ada667dfb5f6d03308d963e1",
        "71217227bbd112ecfe3a49c482195cb4",
    )
    assert (parsed.join_scene, parsed.quit_scene, parsed.mem_change_cnt) == (1, 0, 10)


def test_tag_events_and_the_shuffle_without_tag_type() -> None:
    deleted = parse_event(xml("92130_tag_delete"))
    shuffled = parse_event(xml("92130_tag_shuffle"))
    assert isinstance(deleted, WeComEvent) and isinstance(shuffled, WeComEvent)
    assert (deleted.tag_id, deleted.tag_type, deleted.strategy_id) == ("TAG_ID", "tag", "1")
    assert (shuffled.change_type, shuffled.tag_type) == ("shuffle", "")


def test_externalcontact_get_example() -> None:
    contact = ExternalContact.model_validate(example("92114_externalcontact_get"))
    assert contact.external_contact.unionid == "ozynqsulJFCZ2z1aYeS8h-nuasdAAA"
    rocky = contact.follower("rocky")
    assert rocky is not None
    # Only corp tags (type 1) carry ids siyu can use; a rule-group tag (3) is not manual.
    assert [t.tag_id for t in rocky.corp_tags()] == ["etAJ2GCAAAXtWyujaWJHDDGi0mACHAAA"]
    assert contact.follower("tommy").state == "外联二维码1"  # type: ignore[union-attr]


def test_groupchat_get_example() -> None:
    chat = GroupChat.model_validate(example("92122_groupchat_get")["group_chat"])
    assert [m.userid for m in chat.external_members()] == ["wmOgQhDgAAuXFJGwbve4g4iXknfOAAAA"]
    assert chat.member_version == "71217227bbd112ecfe3a49c482195cb4"


def test_groupmsg_examples() -> None:
    [task] = [
        GroupMsgTask.model_validate(t) for t in example("93338_get_groupmsg_task")["task_list"]
    ]
    [sent] = [
        GroupMsgSend.model_validate(r)
        for r in example("93338_get_groupmsg_send_result")["send_list"]
    ]
    assert task.sent and sent.delivered


def test_transfer_result_example() -> None:
    results = [
        TransferResult.model_validate(c) for c in example("94088_transfer_result")["customer"]
    ]
    assert [WECOM_STATUS[r.status] for r in results] == [
        CustomerStatus.SUCCEEDED,
        CustomerStatus.WAITING,
        CustomerStatus.CUSTOMER_REFUSED,
    ]


def test_message_send_example_lists_unreached_members() -> None:
    answer = example("90236_message_send")
    assert _split(answer["invaliduser"]) == ("userid1", "userid2")
    assert _split(answer["unlicenseduser"]) == ("userid3", "userid4")
