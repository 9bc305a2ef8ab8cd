"""The WeCom client against the simulator's real HTTP protocol."""

from __future__ import annotations

import time

import httpx
import pytest

from siyu.adapters.wecom.client import RetryableWeComError
from siyu.domain.errors import InvalidInput
from siyu.domain.wecom import (
    GroupDismissed,
    GroupUnreadable,
    NoValidRecipient,
    ReminderLimit,
    WelcomeOutcome,
)
from tests import clients


def configure(sim, **config) -> None:
    httpx.post(f"{sim.url}/_sim/config", json=config, timeout=5).raise_for_status()


def emit_contact(sim, ext: str) -> str:
    event = sim.sim.prepare_event(
        {
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": "zhangsan",
            "ExternalUserID": ext,
        }
    )
    return str(event["WelcomeCode"])


def test_token_is_cached_across_calls(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c1")
    client = clients.wecom()
    for _ in range(5):
        client.get_external_contact("wm_c1")
    assert len(wecom_sim.get("/_sim/calls?api=gettoken")) == 1


def test_expired_token_is_refetched_once_and_the_call_succeeds(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c2")
    client = clients.wecom()
    client.get_external_contact("wm_c2")
    configure(wecom_sim, expire_tokens=True)
    assert client.get_external_contact("wm_c2").external_contact.external_userid == "wm_c2"
    codes = [c["errcode"] for c in wecom_sim.get("/_sim/calls?api=externalcontact/get")]
    assert codes == [0, 42001, 0]
    assert len(wecom_sim.get("/_sim/calls?api=gettoken")) == 2


def test_busy_and_limit_codes_are_retried_with_backoff(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c3")
    client = clients.wecom()
    client.get_external_contact("wm_c3")  # token cached
    configure(wecom_sim, fail_next=3)
    assert client.get_external_contact("wm_c3").external_contact.external_userid == "wm_c3"
    codes = [c["errcode"] for c in wecom_sim.get("/_sim/calls?api=externalcontact/get")]
    assert codes[0] == 0 and codes[-1] == 0
    assert sorted(codes[1:-1]) == [-1, 45009, 45033]


def test_persistent_faults_surface_as_retryable_errors(wecom_sim) -> None:
    configure(wecom_sim, fail_next=4)  # one more than the client's attempts
    with pytest.raises(RetryableWeComError):
        clients.wecom().get_external_contact("wm_nobody")


def test_a_welcome_code_works_once_and_41051_means_delivered(wecom_sim) -> None:
    code = emit_contact(wecom_sim, "wm_c4")
    client = clients.wecom()
    assert client.send_welcome_msg(code, "欢迎") is WelcomeOutcome.SENT
    assert client.send_welcome_msg(code, "欢迎") is WelcomeOutcome.SENT  # 41051 (92137)
    assert [w["text"] for w in wecom_sim.get("/_sim/welcomes")] == ["欢迎"]
    codes = [
        c["errcode"] for c in wecom_sim.get("/_sim/calls?api=externalcontact/send_welcome_msg")
    ]
    assert codes == [0, 41051]


def test_an_expired_code_is_41050_and_never_sent(wecom_sim) -> None:
    configure(wecom_sim, welcome_window_s=0.2)
    code = emit_contact(wecom_sim, "wm_c5")
    time.sleep(0.3)
    assert clients.wecom().send_welcome_msg(code, "欢迎") is WelcomeOutcome.EXPIRED
    assert clients.wecom().send_welcome_msg("never-issued", "欢迎") is WelcomeOutcome.EXPIRED
    assert wecom_sim.get("/_sim/welcomes") == []


def test_41096_is_busy_not_sent_and_a_later_try_delivers(wecom_sim) -> None:
    code = emit_contact(wecom_sim, "wm_c7")
    configure(wecom_sim, welcome_busy_next=1)
    client = clients.wecom()
    assert client.send_welcome_msg(code, "欢迎") is WelcomeOutcome.BUSY
    assert client.send_welcome_msg(code, "欢迎") is WelcomeOutcome.SENT
    assert len(wecom_sim.get("/_sim/welcomes")) == 1


def test_welcome_text_is_counted_in_utf8_bytes(wecom_sim) -> None:
    code = emit_contact(wecom_sim, "wm_c8")
    with pytest.raises(InvalidInput) as err:  # 1,334 characters, 4,002 bytes
        clients.wecom().send_welcome_msg(code, "欢" * 1334)
    assert err.value.field == "text.content" and "bytes" in err.value.reason
    assert clients.wecom().send_welcome_msg(code, "欢" * 1333) is WelcomeOutcome.SENT


def test_followers_beyond_a_page_are_joined_by_next_cursor(wecom_sim) -> None:
    configure(wecom_sim, follow_page_size=2)
    emit_contact(wecom_sim, "wm_many")
    for staff in ("lisi", "wangwu", "zhaoliu", "sunqi"):
        wecom_sim.sim.prepare_event(
            {
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "UserID": staff,
                "ExternalUserID": "wm_many",
            }
        )
    contact = clients.wecom().get_external_contact("wm_many")
    assert [f.userid for f in contact.follow_user] == [
        "zhangsan",
        "lisi",
        "wangwu",
        "zhaoliu",
        "sunqi",
    ]
    assert len(wecom_sim.get("/_sim/calls?api=externalcontact/get")) == 3


def test_group_errors_are_typed(wecom_sim) -> None:
    client = clients.wecom()
    with pytest.raises(GroupUnreadable):  # 40050 chatid不存在
        client.get_group_chat("wr_nobody")
    chat = wecom_sim.sim.ensure_group("wr_gone")
    chat["dismissed"] = True
    with pytest.raises(GroupDismissed):  # 49008
        client.get_group_chat("wr_gone")


def test_app_messages_report_unreachable_members(wecom_sim) -> None:
    configure(wecom_sim, invalid_users=["Gone"])
    app = clients.wecom_app()
    assert app.send_text("zhangsan", "提醒").unreached == ()
    with pytest.raises(NoValidRecipient):  # 81013: every recipient invalid
        app.send_text("Gone", "提醒")
    result = app.send_text("zhangsan|Gone", "提醒")  # 90236: a partial success
    assert result.invalid_users == ("gone",)


def test_reminders_over_the_limit_are_41094(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_r1")
    client = clients.wecom()
    msgid, _ = client.add_msg_template("single", "zhangsan", ["wm_r1"], "hi", [])
    for _ in range(3):
        client.remind_groupmsg_send(msgid)
    with pytest.raises(ReminderLimit):
        client.remind_groupmsg_send(msgid)
    assert len(wecom_sim.get("/_sim/calls?api=externalcontact/remind_groupmsg_send")) == 4


def test_a_task_still_being_dispatched_is_transient(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_r2")
    configure(wecom_sim, groupmsg_dispatch_s=30)
    client = clients.wecom()
    msgid, _ = client.add_msg_template("single", "zhangsan", ["wm_r2"], "hi", [])
    with pytest.raises(RetryableWeComError) as err:
        client.get_groupmsg_task(msgid)
    assert err.value.errcode == 41063


def test_transfer_result_sends_only_documented_fields(wecom_sim) -> None:
    clients.wecom().transfer_result(False, "zhangsan", "lisi")
    [call] = [c for c in wecom_sim.sim.state.calls if c["api"] == "externalcontact/transfer_result"]
    assert set(call["fields"]) <= {"handover_userid", "takeover_userid", "cursor"}


def test_tags_round_trip_through_the_catalogue(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c6")
    client = clients.wecom()
    [tag] = client.add_corp_tag("等级", ["VIP"])
    assert [t.id for t in client.get_corp_tag_list([tag.id])] == [tag.id]
    client.mark_tag("zhangsan", "wm_c6", add=[tag.id])
    follow = client.get_external_contact("wm_c6").follow_user[0]
    assert [t.tag_id for t in follow.tags] == [tag.id]


def test_app_messages_stay_under_30_a_minute_to_one_member(wecom_sim) -> None:
    from siyu.domain.errors import TransientError

    app = clients.wecom_app()
    for n in range(30):
        app.send_text("zhangsan", f"第{n}条")
    with pytest.raises(TransientError):  # WeCom would silently drop the 31st
        app.send_text("zhangsan", "第31条")
    app.send_text("lisi", "另一位成员不受影响")
    sent = httpx.get(f"{wecom_sim.url}/_sim/messages").json()
    assert [m["touser"] for m in sent] == ["zhangsan"] * 30 + ["lisi"]
    assert all(m["delivered"] for m in sent)


def test_the_simulator_drops_what_wecom_drops_and_forbids_the_contact_secret(wecom_sim) -> None:
    from siyu.domain.errors import UpstreamError

    token = clients.wecom_app()._access_token(None)  # noqa: SLF001 (raw protocol test)
    for n in range(31):
        r = httpx.post(
            f"{wecom_sim.url}/cgi-bin/message/send",
            params={"access_token": token},
            json={
                "touser": "ww",
                "msgtype": "text",
                "agentid": 1000002,
                "text": {"content": str(n)},
            },
        )
        assert r.json()["errcode"] == 0
    sent = httpx.get(f"{wecom_sim.url}/_sim/messages", params={"touser": "ww"}).json()
    assert [m["delivered"] for m in sent][-2:] == [True, False]
    contact = clients.wecom()
    with pytest.raises(ValueError):  # no agent id: not the app that sends messages
        contact.send_text("zhangsan", "x")
    with pytest.raises(UpstreamError) as refused:
        contact.call("message/send", json={"touser": "zhangsan", "agentid": 1000002})
    assert refused.value.code == 48002
