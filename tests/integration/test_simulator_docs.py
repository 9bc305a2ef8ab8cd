"""The simulator answers with the fields WeCom's pages document, no invented ones.

Each answer's keys (and those of its list items) must appear in the page's own
example (tests/data/wecom_docs), so a field the simulator makes up fails here even when
siyu's client happens to read it.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests import clients
from tests.docs_examples import example


def undocumented(answer: Any, documented: Any, path: str = "") -> list[str]:
    if isinstance(answer, dict) and isinstance(documented, dict):
        found = [f"{path}{k}" for k in answer if k not in documented]
        for key in answer.keys() & documented.keys():
            found += undocumented(answer[key], documented[key], f"{path}{key}.")
        return found
    if isinstance(answer, list) and isinstance(documented, list) and answer and documented:
        # The page's items together document a list item (e.g. only one follower has state).
        merged: Any = documented[0]
        if all(isinstance(d, dict) for d in documented):
            merged = {k: v for d in reversed(documented) for k, v in d.items()}
        return [f for item in answer for f in undocumented(item, merged, f"{path}[].")]
    return []


def call(sim, api: str, body: dict[str, Any] | None = None, **params: str) -> dict[str, Any]:
    token = clients.wecom()._access_token(None)  # noqa: SLF001 (raw protocol test)
    url = f"{sim.url}/cgi-bin/{api}"
    query = {"access_token": token, **params}
    r = (
        httpx.post(url, params=query, json=body)
        if body is not None
        else httpx.get(url, params=query)
    )
    answer = r.json()
    assert answer["errcode"] == 0, answer
    return dict(answer)


def add_contact(sim, ext: str, staff: str = "zhangsan") -> None:
    sim.sim.prepare_event(
        {
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": staff,
            "ExternalUserID": ext,
            "State": "teststate",
        }
    )


def test_externalcontact_get_has_the_documented_fields(wecom_sim) -> None:
    add_contact(wecom_sim, "wm_d1")
    answer = call(wecom_sim, "externalcontact/get", external_userid="wm_d1")
    assert undocumented(answer, example("92114_externalcontact_get")) == []


def test_groupchat_get_has_the_documented_fields(wecom_sim) -> None:
    wecom_sim.sim.prepare_event(
        {
            "Event": "change_external_chat",
            "ChangeType": "update",
            "UpdateDetail": "add_member",
            "ChatId": "wr_d1",
            "MemChangeList": ["wm_d2"],
        }
    )
    answer = call(wecom_sim, "externalcontact/groupchat/get", {"chat_id": "wr_d1"})
    assert answer["group_chat"]["member_version"]
    assert undocumented(answer, example("92122_groupchat_get")) == []


def test_groupmsg_results_have_the_documented_fields(wecom_sim) -> None:
    add_contact(wecom_sim, "wm_d3")
    msgid, _ = clients.wecom().add_msg_template("single", "zhangsan", ["wm_d3"], "hi", [])
    httpx.post(f"{wecom_sim.url}/_sim/groupmsg/confirm", json={"msgid": msgid})
    tasks = call(wecom_sim, "externalcontact/get_groupmsg_task", {"msgid": msgid})
    sent = call(
        wecom_sim,
        "externalcontact/get_groupmsg_send_result",
        {"msgid": msgid, "userid": "zhangsan"},
    )
    assert undocumented(tasks, example("93338_get_groupmsg_task")) == []
    assert undocumented(sent, example("93338_get_groupmsg_send_result")) == []


def test_transfers_have_the_documented_fields(wecom_sim) -> None:
    add_contact(wecom_sim, "wm_d4")
    body = {"handover_userid": "zhangsan", "takeover_userid": "lisi", "external_userid": ["wm_d4"]}
    started = call(wecom_sim, "externalcontact/transfer_customer", body)
    result = call(
        wecom_sim,
        "externalcontact/transfer_result",
        {"handover_userid": "zhangsan", "takeover_userid": "lisi"},
    )
    assert undocumented(started, example("92125_transfer_customer")) == []
    assert undocumented(result, example("94088_transfer_result")) == []


def test_the_third_in_service_transfer_within_90_days_is_40128(wecom_sim) -> None:
    add_contact(wecom_sim, "wm_d5")
    client = clients.wecom()
    for staff in ("lisi", "wangwu"):
        add_contact(wecom_sim, "wm_d5", staff)
    assert client.transfer_customer(False, "zhangsan", "lisi", ["wm_d5"]) == {"wm_d5": 0}
    assert client.transfer_customer(False, "lisi", "wangwu", ["wm_d5"]) == {"wm_d5": 0}
    assert client.transfer_customer(False, "wangwu", "zhangsan", ["wm_d5"]) == {"wm_d5": 40128}
    assert client.transfer_customer(False, "zhaoliu", "lisi", ["wm_d5"]) == {"wm_d5": 40131}
    httpx.post(f"{wecom_sim.url}/_sim/config", json={"advance_s": 91 * 86_400})
    assert client.transfer_customer(False, "wangwu", "zhangsan", ["wm_d5"]) == {"wm_d5": 0}


def test_message_send_has_the_documented_fields(wecom_sim) -> None:
    token = clients.wecom_app()._access_token(None)  # noqa: SLF001
    answer = httpx.post(
        f"{wecom_sim.url}/cgi-bin/message/send",
        params={"access_token": token},
        json={
            "touser": "zhangsan",
            "msgtype": "text",
            "agentid": 1000002,
            "text": {"content": "x"},
        },
    ).json()
    assert undocumented(answer, example("90236_message_send")) == []


def test_join_way_limits_and_unknown_chats(wecom_sim) -> None:
    for n in range(6):
        wecom_sim.sim.ensure_group(f"wr_j{n}")
    token = clients.wecom()._access_token(None)  # noqa: SLF001
    url = f"{wecom_sim.url}/cgi-bin/externalcontact/groupchat/add_join_way"

    def add(chats: list[str]) -> int:
        body = {"scene": 2, "chat_id_list": chats, "state": "s"}
        return int(httpx.post(url, params={"access_token": token}, json=body).json()["errcode"])

    assert add([f"wr_j{n}" for n in range(6)]) == 41091
    assert add(["wr_unknown"]) == 40050
    assert add(["wr_j0"]) == 0


def test_mass_messages_are_limited_per_month_by_default_and_per_day_as_a_setting(
    wecom_sim,
) -> None:
    add_contact(wecom_sim, "wm_m1")
    client = clients.wecom()

    def send_on(day: str) -> int:
        msgid, _ = client.add_msg_template("single", "zhangsan", ["wm_m1"], "hi", [])
        httpx.post(f"{wecom_sim.url}/_sim/groupmsg/confirm", json={"msgid": msgid, "day": day})
        [result] = client.get_groupmsg_send_result(msgid, "zhangsan")
        return result.status

    # February 2027 has 28 days: 28 群发 reach the customer that month, the 29th does not.
    assert [send_on("2027-02-01") for _ in range(29)] == [1] * 28 + [3]
    assert send_on("2027-03-01") == 1
    httpx.post(f"{wecom_sim.url}/_sim/config", json={"mass_limit": "day"})
    assert [send_on("2027-03-02") for _ in range(2)] == [1, 3]


def test_attachment_limits_are_bytes(wecom_sim) -> None:
    add_contact(wecom_sim, "wm_m2")
    token = clients.wecom()._access_token(None)  # noqa: SLF001

    def with_title(title: str) -> int:
        body = {
            "chat_type": "single",
            "sender": "zhangsan",
            "external_userid": ["wm_m2"],
            "text": {"content": "hi"},
            "attachments": [{"msgtype": "link", "link": {"title": title, "url": "https://x"}}],
        }
        r = httpx.post(
            f"{wecom_sim.url}/cgi-bin/externalcontact/add_msg_template",
            params={"access_token": token},
            json=body,
        )
        return int(r.json()["errcode"])

    assert with_title("福" * 42) == 0  # 126 bytes
    assert with_title("福" * 43) == 40058  # 43 characters, 129 bytes
