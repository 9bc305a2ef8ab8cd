"""The front doors and the content on the local stack, over HTTP: a channel's 联系我 code
scanned in the simulator and its welcome with attachments, a daily mini-program card on day 1
and day 5 (after WeCom's 3-day media expiry), a run pulled back, a group code that moves on
when a group fills, a group welcome that follows the campaigns, and a leaver's groups."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from siyu.devstack.scheduler import tick
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until

from .test_campaign_path import coming

PNG = b"\x89PNG\r\n\x1a\n" + bytes(48)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def env(stack: StackConfig, monkeypatch: pytest.MonkeyPatch) -> StackConfig:
    for key, value in stack.env().items():
        monkeypatch.setenv(key, value)
    return stack


def add_image(ops: httpx.Client, name: str) -> str:
    body = {"kind": "image", "filename": name, "content_base64": base64.b64encode(PNG).decode()}
    r = ops.post("/ops/media", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def mini(asset: str) -> dict[str, Any]:
    return {
        "msgtype": "miniprogram",
        "miniprogram": {"title": "领取福利", "pic_media": asset, "appid": "wx8bd8", "page": "/p"},
    }


def register(sim: httpx.Client, ops: httpx.Client, owner: str, city: str, **extra: Any) -> str:
    chat_id = unique("wr")
    members = extra.pop("members", 0)
    sim.post(
        "/_sim/groups", json={"chat_id": chat_id, "owner": owner, "members": members}
    ).raise_for_status()
    body = {
        "name": f"福利群{chat_id[-4:]}",
        "owner_userid": owner,
        "city": city,
        "kind": "food",
        "lat": 31.23,
        "lng": 121.47,
        "coord_system": "wgs84",
        "member_count": members,
        **extra,
    }
    r = ops.put(f"/ops/groups/{chat_id}", json=body)
    assert r.status_code == 200, r.text
    return chat_id


def test_a_channel_code_is_scanned_and_its_welcome_carries_the_attachments(sim, ops) -> None:
    state, staff = unique("poster")[:30], unique("staff")
    cover = add_image(ops, f"{state}.png")
    link = {"msgtype": "link", "link": {"title": "开卡礼", "url": "https://bank.example/gift"}}
    body = {
        "name": "网点海报",
        "welcome_text": "欢迎来到网点福利",
        "staff": [staff],
        "attachments": [mini(cover), link],
    }
    r = ops.put(f"/ops/channels/{state}", json=body)
    assert r.status_code == 200, r.text
    channel = r.json()
    assert channel["config_id"] and channel["qr_code"]
    missing = {**body, "attachments": [mini("image-" + "0" * 24)]}
    refused = ops.put(f"/ops/channels/{unique('bad')[:30]}", json=missing)
    assert refused.status_code == 400 and refused.json()["field"] == "attachments[0]"
    assert any(c["state"] == state for c in ops.get("/ops/channels").json())

    customer = unique("wm")
    scanned = sim.post(
        "/_sim/scan", json={"qr_code": channel["qr_code"], "external_userid": customer}
    )
    assert scanned.status_code == 200 and scanned.json()["event"]["State"] == state
    welcome = until(
        lambda: [w for w in sim.get("/_sim/welcomes").json() if w["external_userid"] == customer]
    )
    [sent] = welcome
    assert sent["text"] == "欢迎来到网点福利" and sent["userid"] == staff
    kinds = [a["msgtype"] for a in sent["attachments"]]
    assert kinds == ["miniprogram", "link"]
    media_id = sent["attachments"][0]["miniprogram"]["pic_media_id"]
    assert media_id in sim.get("/_sim/content/media").json()

    deleted = ops.delete(f"/ops/channels/{state}")
    assert deleted.status_code == 200 and deleted.json()["qr_code"] == ""
    assert channel["config_id"] not in sim.get("/_sim/content/contact_ways").json()


def test_a_daily_mini_program_card_sends_on_day_1_and_day_5_and_a_run_can_be_pulled_back(
    sim, ops, env
) -> None:
    owner = unique("staff")
    chat = register(sim, ops, owner, unique("城"))
    city = ops.get(f"/ops/groups/{chat}").json()["city"]
    campaign = unique("daily")
    spec = {
        "name": "每日小程序福利",
        "schedule": {"kind": "daily", "at": "10:00"},
        "active_from": "2026-11-01",
        "audience": {"kind": "groups", "cities": [city]},
        "content": {"text": "今日福利", "attachments": [mini(add_image(ops, f"{campaign}.png"))]},
    }
    assert ops.put(f"/ops/campaigns/{campaign}", json=spec).status_code == 200
    day1 = coming("10:01", days=5)
    key1, key5 = day1.date().isoformat(), (day1 + timedelta(days=4)).date().isoformat()
    tick(env, "on_campaign_tick", as_of=day1)
    [first] = until(lambda: sim.get("/_sim/groupmsgs", params={"sender": owner}).json())
    cover1 = first["attachments"][0]["miniprogram"]["pic_media_id"]
    sim.post("/_sim/config", json={"advance_s": 4 * 86_400}).raise_for_status()
    try:
        tick(env, "on_campaign_tick", as_of=day1 + timedelta(days=4))
        tasks = until(
            lambda: [
                t
                for t in sim.get("/_sim/groupmsgs", params={"sender": owner}).json()
                if t["msgid"] != first["msgid"]
            ]
        )
        cover5 = tasks[0]["attachments"][0]["miniprogram"]["pic_media_id"]
        assert cover5 != cover1  # WeCom dropped the day-1 id after 3 days: siyu uploaded anew
        reports = {
            r["occurrence"]["key"]: r for r in ops.get(f"/ops/campaigns/{campaign}/runs").json()
        }
        assert reports[key1]["tasks_created"] == reports[key5]["tasks_created"] == 1

        pulled = ops.post(f"/ops/campaigns/{campaign}/runs/{key5}:cancel")
        assert pulled.status_code == 200, pulled.text
        assert [t["outcome"] for t in pulled.json()["tasks"]] == ["cancelled"]
        sim.post("/_sim/groupmsg/confirm", json={"msgid": tasks[0]["msgid"]})
        [task] = [
            t
            for t in sim.get("/_sim/groupmsgs", params={"sender": owner}).json()
            if t["msgid"] == tasks[0]["msgid"]
        ]
        assert task["status"] == 0 and task["cancelled"]  # staff can no longer send it
        again = ops.post(f"/ops/campaigns/{campaign}/runs/{key5}:cancel").json()
        assert [t["outcome"] for t in again["tasks"]] == ["cancelled"]
        later = (day1 + timedelta(days=20)).date().isoformat()
        missing = ops.post(f"/ops/campaigns/{campaign}/runs/{later}:cancel")
        assert missing.status_code == 404
    finally:
        sim.post("/_sim/config", json={"advance_s": -4 * 86_400}).raise_for_status()


def test_a_group_code_moves_on_when_a_group_fills_and_welcomes_follow_campaigns(
    sim, ops, env
) -> None:
    owner, city = unique("staff"), unique("城")
    full_soon = register(sim, ops, owner, city, members=199)
    others = [register(sim, ops, owner, city, members=10 + n) for n in range(4)]
    code_id = unique("code").replace("_", "-")
    r = ops.put(f"/ops/group-codes/{code_id}", json={"name": "本城美食", "city": city})
    assert r.status_code == 200, r.text
    code = r.json()
    assert sorted(code["chat_ids"]) == sorted([full_soon, *others])  # all five it may hold
    spare = register(sim, ops, owner, city, members=50)  # a sixth: the code is full already
    assert ops.get(f"/ops/group-codes/{code_id}").json()["chat_ids"] == code["chat_ids"]
    # A customer joins the fullest group through the code (simulated scan on its way).
    sim.post(
        "/_sim/emit",
        json={
            "Event": "change_external_chat",
            "ChangeType": "update",
            "UpdateDetail": "add_member",
            "ChatId": full_soon,
            "JoinScene": 3,
            "MemChangeList": [unique("wm")],
        },
    ).raise_for_status()
    moved = until(
        lambda: (
            (c := ops.get(f"/ops/group-codes/{code_id}").json())
            and full_soon not in c["chat_ids"]
            and c
        )
    )
    assert spare in moved["chat_ids"] and len(moved["chat_ids"]) == 5
    way = sim.get("/_sim/content/join_ways").json()[code["config_id"]]
    assert way["chat_id_list"] == moved["chat_ids"] and way["auto_create_room"] == 0

    welcome_chat = register(sim, ops, owner, city, welcome={"intro": "欢迎%NICKNAME%入群"})
    template_id = ops.get(f"/ops/groups/{welcome_chat}").json()["welcome_template_id"]
    campaign = unique("weekly")
    spec = {
        "name": "周五午餐券",
        "schedule": {"kind": "weekly", "weekdays": [5], "at": "11:00"},
        "active_from": "2026-11-01",
        "audience": {"kind": "groups", "cities": [city]},
        "content": {"text": "午餐券"},
    }
    assert ops.put(f"/ops/campaigns/{campaign}", json=spec).status_code == 200
    templates = sim.get("/_sim/content/welcome_templates").json()
    assert templates[template_id]["text"]["content"] == (
        "欢迎%NICKNAME%入群\n\n本群福利：\n· 周五午餐券（每周五 11:00）"
    )


def test_a_leavers_groups_are_handed_over_in_the_transfer(sim, ops) -> None:
    leaver, heir = unique("leaver"), unique("heir")
    chats = [register(sim, ops, leaver, "上海") for _ in range(2)]
    sim.post("/_sim/config", json={"resigned_members": [leaver]}).raise_for_status()
    try:
        r = ops.post(
            "/ops/transfers", json={"from_userid": leaver, "to_userid": heir, "resigned": True}
        )
        assert r.status_code == 201, r.text
        assert r.json()["group_counts"] == {"moved": 2}
        for chat in chats:
            assert ops.get(f"/ops/groups/{chat}").json()["owner_userid"] == heir
    finally:
        sim.post("/_sim/config", json={"resigned_members": []}).raise_for_status()
