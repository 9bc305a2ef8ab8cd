"""siyu's WeCom client and the simulator on the content and front-door APIs, held to the
pages' own examples: media (90253), 联系我 (92228), join ways (92229), group welcome
templates (92366), welcome attachments (92137), cancelling a 群发 (97611) and handing
customer groups over (92127, 95703)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from siyu.adapters.wecom.client import WeComError
from siyu.domain.errors import InvalidInput
from siyu.domain.wecom import ContactWay, TemplateLimit, WelcomeOutcome
from tests import clients
from tests.docs_examples import example
from tests.integration.test_simulator_docs import add_contact, undocumented

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(64)


def raw(sim, api: str, body: dict[str, Any]) -> dict[str, Any]:
    token = clients.wecom()._access_token(None)  # noqa: SLF001 (raw protocol test)
    r = httpx.post(f"{sim.url}/cgi-bin/{api}", params={"access_token": token}, json=body)
    return dict(r.json())


def with_media(document: dict[str, Any], media_id: str) -> dict[str, Any]:
    """The page's example with its placeholder ids replaced by one WeCom issued."""
    text = json.dumps(document, ensure_ascii=False)
    for placeholder in ("MEDIA_ID", "1Yv-zXfHjSjU-7LH-GwtYqDGS-zz6w22KmWAT5COgP7o"):
        text = text.replace(placeholder, media_id)
    return dict(json.loads(text))


def test_media_upload_answers_the_documented_fields_and_checks_the_file(wecom_sim) -> None:
    client = clients.wecom()
    uploaded = client.upload_media("image", "cover.png", PNG, "image/png")
    assert uploaded.media_id in wecom_sim.get("/_sim/content/media")
    token = client._access_token(None)  # noqa: SLF001
    answer = httpx.post(
        f"{wecom_sim.url}/cgi-bin/media/upload",
        params={"access_token": token, "type": "video"},
        files={"media": ("a.mp4", MP4, "video/mp4")},
    ).json()
    assert answer["errcode"] == 0
    assert undocumented(answer, example("90253_media_upload")) == []
    with pytest.raises(WeComError) as not_png:
        client.upload_media("image", "a.gif", b"GIF89a" + bytes(20), "image/gif")
    assert not_png.value.errcode == 40004  # JPG or PNG only
    with pytest.raises(WeComError) as too_small:
        client.upload_media("file", "a.txt", b"12345", "text/plain")
    assert too_small.value.errcode == 40006  # "必须大于5个字节"


def test_welcome_attachments_as_the_page_shows_them_and_media_that_expired(wecom_sim) -> None:
    client = clients.wecom()
    media = client.upload_media("image", "a.png", PNG, "image/png").media_id
    request = with_media(example("92137_send_welcome_msg_attachments_request"), media)
    event = wecom_sim.sim.prepare_event(
        {"Event": "change_external_contact", "ChangeType": "add_external_contact"}
    )
    outcome = client.send_welcome_msg(
        event["WelcomeCode"], request["text"]["content"], request["attachments"]
    )
    assert outcome is WelcomeOutcome.SENT
    [sent] = wecom_sim.get("/_sim/welcomes")
    assert [a["msgtype"] for a in sent["attachments"]] == [
        "image",
        "link",
        "miniprogram",
        "video",
        "file",
    ]
    with pytest.raises(InvalidInput):
        client.send_welcome_msg("code", "hi", request["attachments"] * 2)  # 10 > 9

    httpx.post(f"{wecom_sim.url}/_sim/config", json={"advance_s": 3 * 86_400})
    late = wecom_sim.sim.prepare_event(
        {"Event": "change_external_contact", "ChangeType": "add_external_contact"}
    )
    with pytest.raises(WeComError) as expired:
        client.send_welcome_msg(late["WelcomeCode"], "hi", request["attachments"][:1])
    assert expired.value.errcode == 40145  # mediaid已过期失效 (90313)
    unknown = [{"msgtype": "video", "video": {"media_id": "never-issued"}}]
    with pytest.raises(WeComError) as invalid:
        client.send_welcome_msg(late["WelcomeCode"], "hi", unknown)
    assert invalid.value.errcode == 40007


def test_contact_ways_follow_the_page(wecom_sim) -> None:
    documented = example("92228_add_contact_way_request")
    # The page's own example is a single-member way with three members: 41041 by its rules.
    assert raw(wecom_sim, "externalcontact/add_contact_way", documented)["errcode"] == 41041
    answer = raw(wecom_sim, "externalcontact/add_contact_way", {**documented, "type": 2})
    assert answer["errcode"] == 0
    assert "qr_code" not in answer  # scene 1 (a mini-program button) has no QR code
    client = clients.wecom()
    config_id, qr_code = client.add_contact_way(ContactWay(state="ch1", users=["zhangsan"]))
    assert qr_code
    assert (
        undocumented({"config_id": config_id, "qr_code": qr_code}, example("92228_add_contact_way"))
        == []
    )
    got = raw(wecom_sim, "externalcontact/get_contact_way", {"config_id": config_id})
    assert undocumented(got, example("92228_get_contact_way")) == []
    assert got["contact_way"]["state"] == "ch1"
    client.update_contact_way(config_id, ContactWay(state="ch1", users=["lisi"]))
    got = raw(wecom_sim, "externalcontact/get_contact_way", {"config_id": config_id})
    assert got["contact_way"]["user"] == ["lisi"]
    with pytest.raises(WeComError) as two_on_single:
        client.update_contact_way(config_id, ContactWay(state="ch1", users=["a", "b"]))
    assert two_on_single.value.errcode == 41041
    assert client.del_contact_way(config_id) is True
    assert client.del_contact_way(config_id) is False  # 41044: gone already
    over = raw(
        wecom_sim,
        "externalcontact/add_contact_way",
        {"type": 2, "scene": 2, "user": [f"u{n}" for n in range(101)]},
    )
    assert over["errcode"] == 41041  # ≤ 100 members


def test_join_ways_are_rewritten_whole(wecom_sim) -> None:
    for n in range(6):
        wecom_sim.sim.ensure_group(f"wr_u{n}")
    client = clients.wecom()
    config_id = client.add_join_way(["wr_u0"], "q-1", "福利群")
    documented = example("92229_update_join_way_request")
    answer = raw(
        wecom_sim,
        "externalcontact/groupchat/update_join_way",
        {**documented, "config_id": config_id, "chat_id_list": ["wr_u1", "wr_u2"]},
    )
    assert answer["errcode"] == 0
    assert client.get_join_way(config_id).chat_id_list == ["wr_u1", "wr_u2"]
    six = {**documented, "config_id": config_id, "chat_id_list": [f"wr_u{n}" for n in range(6)]}
    assert raw(wecom_sim, "externalcontact/groupchat/update_join_way", six)["errcode"] == 41091
    with pytest.raises(InvalidInput):
        client.update_join_way(config_id, [f"wr_u{n}" for n in range(6)], "q-1", "r")


def test_group_welcome_templates_follow_the_page(wecom_sim) -> None:
    client = clients.wecom()
    media = client.upload_media("file", "rules.pdf", b"%PDF-1.4" + bytes(30), "application/pdf")
    documented = with_media(example("92366_group_welcome_template_add_request"), media.media_id)
    answer = raw(wecom_sim, "externalcontact/group_welcome_template/add", documented)
    assert answer["errcode"] == 0
    assert undocumented(answer, example("92366_group_welcome_template_add")) == []
    template_id = client.add_group_welcome_template(
        "欢迎", {"msgtype": "link", "link": {"title": "福利", "url": "https://bank.example/a"}}
    )
    client.edit_group_welcome_template(template_id, "欢迎%NICKNAME%", None)
    got = raw(wecom_sim, "externalcontact/group_welcome_template/get", {"template_id": template_id})
    assert got["text"] == {"content": "欢迎%NICKNAME%"}
    with pytest.raises(InvalidInput):
        client.add_group_welcome_template("福" * 1001, None)  # 3,003 bytes > 3,000
    for n in range(98):
        client.add_group_welcome_template(f"t{n}", None)
    with pytest.raises(TemplateLimit):
        client.add_group_welcome_template("the 101st", None)


def test_a_cancelled_groupmsg_cannot_be_sent(wecom_sim) -> None:
    add_contact(wecom_sim, "wm_c1")
    client = clients.wecom()
    msgid, _ = client.add_msg_template("single", "zhangsan", ["wm_c1"], "hi", [])
    documented = {**example("97611_cancel_groupmsg_send_request"), "msgid": msgid}
    assert raw(wecom_sim, "externalcontact/cancel_groupmsg_send", documented)["errcode"] == 0
    httpx.post(f"{wecom_sim.url}/_sim/groupmsg/confirm", json={"msgid": msgid})
    [task] = client.get_groupmsg_task(msgid)
    assert not task.sent
    client.cancel_groupmsg_send(msgid)  # again: the same outcome
    unknown = raw(wecom_sim, "externalcontact/cancel_groupmsg_send", {"msgid": "msg-never"})
    assert unknown["errcode"] == 41047


def test_group_transfers_for_leavers_and_serving_members(wecom_sim) -> None:
    for chat in ("wr_t1", "wr_t2"):
        wecom_sim.sim.ensure_group(chat, owner="leaver")
    client = clients.wecom()
    answer = raw(
        wecom_sim,
        "externalcontact/groupchat/transfer",
        {"chat_id_list": ["wr_t1"], "new_owner": "lisi"},
    )
    assert undocumented(answer, example("92127_groupchat_transfer")) == []
    assert answer["failed_chat_list"][0]["errcode"] == 90500  # the owner has not resigned
    httpx.post(f"{wecom_sim.url}/_sim/config", json={"resigned_members": ["leaver"]})
    assert client.transfer_group_chats(True, ["wr_t1", "wr_missing"], "lisi") == {
        "wr_missing": 40050
    }
    assert wecom_sim.sim.state.groups["wr_t1"]["owner"] == "lisi"
    # A serving member's group: twice within 90 days, then refused.
    assert client.transfer_group_chats(False, ["wr_t2"], "wangwu") == {}
    assert client.transfer_group_chats(False, ["wr_t2"], "zhaoliu") == {}
    assert client.transfer_group_chats(False, ["wr_t2"], "wangwu") == {"wr_t2": 40128}
    onjob = raw(
        wecom_sim,
        "externalcontact/groupchat/onjob_transfer",
        {"chat_id_list": ["wr_t2"], "new_owner": "x"},
    )
    assert undocumented(onjob, example("95703_groupchat_onjob_transfer")) == []
