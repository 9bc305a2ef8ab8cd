"""The WeCom client against the simulator's real HTTP protocol."""

from __future__ import annotations

import time

import httpx
import pytest

from siyu import bootstrap
from siyu.adapters.wecom.client import RetryableWeComError, WelcomeCodeUsed


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
    client = bootstrap.wecom()
    for _ in range(5):
        client.get_external_contact("wm_c1")
    assert len(wecom_sim.get("/_sim/calls?api=gettoken")) == 1


def test_expired_token_is_refetched_once_and_the_call_succeeds(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c2")
    client = bootstrap.wecom()
    client.get_external_contact("wm_c2")
    configure(wecom_sim, expire_tokens=True)
    assert client.get_external_contact("wm_c2")["external_contact"]["external_userid"] == "wm_c2"
    codes = [c["errcode"] for c in wecom_sim.get("/_sim/calls?api=externalcontact/get")]
    assert codes == [0, 42001, 0]
    assert len(wecom_sim.get("/_sim/calls?api=gettoken")) == 2


def test_busy_and_limit_codes_are_retried_with_backoff(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c3")
    client = bootstrap.wecom()
    client.get_external_contact("wm_c3")  # token cached
    configure(wecom_sim, fail_next=3)
    assert client.get_external_contact("wm_c3")["external_contact"]["external_userid"] == "wm_c3"
    codes = [c["errcode"] for c in wecom_sim.get("/_sim/calls?api=externalcontact/get")]
    assert codes[0] == 0 and codes[-1] == 0
    assert sorted(codes[1:-1]) == [-1, 45009, 45033]


def test_persistent_faults_surface_as_retryable_errors(wecom_sim) -> None:
    configure(wecom_sim, fail_next=4)  # one more than the client's attempts
    with pytest.raises(RetryableWeComError):
        bootstrap.wecom().get_external_contact("wm_nobody")


def test_a_welcome_code_works_once(wecom_sim) -> None:
    code = emit_contact(wecom_sim, "wm_c4")
    client = bootstrap.wecom()
    client.send_welcome_msg(code, "欢迎")
    with pytest.raises(WelcomeCodeUsed):
        client.send_welcome_msg(code, "欢迎")
    assert [w["text"] for w in wecom_sim.get("/_sim/welcomes")] == ["欢迎"]


def test_a_welcome_code_expires_after_its_window(wecom_sim) -> None:
    configure(wecom_sim, welcome_window_s=0.2)
    code = emit_contact(wecom_sim, "wm_c5")
    time.sleep(0.3)
    with pytest.raises(WelcomeCodeUsed):
        bootstrap.wecom().send_welcome_msg(code, "欢迎")


def test_tags_round_trip_through_the_catalogue(wecom_sim) -> None:
    emit_contact(wecom_sim, "wm_c6")
    client = bootstrap.wecom()
    [tag] = client.add_corp_tag("等级", ["VIP"])
    assert [t.id for t in client.get_corp_tag_list([tag.id])] == [tag.id]
    client.mark_tag("zhangsan", "wm_c6", add=[tag.id])
    follow = client.get_external_contact("wm_c6")["follow_user"][0]
    assert [t["tag_id"] for t in follow["tags"]] == [tag.id]


def test_app_messages_stay_under_30_a_minute_to_one_member(wecom_sim) -> None:
    from siyu.domain.errors import TransientError

    app = bootstrap.wecom_app()
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

    token = bootstrap.wecom_app()._access_token(None)  # noqa: SLF001 (raw protocol test)
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
    contact = bootstrap.wecom()
    with pytest.raises(ValueError):  # no agent id: not the app that sends messages
        contact.send_text("zhangsan", "x")
    with pytest.raises(UpstreamError) as refused:
        contact.call("message/send", json={"touser": "zhangsan", "agentid": 1000002})
    assert refused.value.code == 48002
