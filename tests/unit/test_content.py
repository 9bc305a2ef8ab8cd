"""The content library, channel QR codes, welcome attachments, group codes that move on,
group welcomes that follow the campaigns, a 群发 pulled back and groups handed over, with
the production wiring on in-memory ports."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from siyu.domain.campaigns import CampaignSpec, RunStatus, Target
from siyu.domain.channels import ChannelSpec
from siyu.domain.content import Attachment
from siyu.domain.errors import Conflict, InvalidInput
from siyu.domain.events import WeComEvent
from siyu.domain.group_codes import GroupCodeSpec
from siyu.domain.group_welcome import MAX_TEMPLATE_BYTES, render
from siyu.domain.groups import Group, GroupSpec, GroupWelcomeSpec
from siyu.domain.media import MediaUpload
from siyu.domain.transfers import TransferSpec
from siyu.services.ticks import Tick
from tests.fakes import FakeClock, FakeCloud

NOW = datetime(2026, 11, 25, 2, 2, tzinfo=UTC)  # Wednesday 10:02 in Shanghai
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)


def upload(kind: str = "image", name: str = "cover.png", data: bytes = PNG) -> MediaUpload:
    return MediaUpload(kind=kind, filename=name, content_base64=base64.b64encode(data).decode())


def mini(asset: str) -> dict[str, Any]:
    return {
        "msgtype": "miniprogram",
        "miniprogram": {"title": "领券", "pic_media": asset, "appid": "wx1", "page": "/p"},
    }


class World:
    def __init__(self) -> None:
        self.cloud = FakeCloud(clock=FakeClock(NOW))
        self.clock, self.wecom = self.cloud.clock, self.cloud.wecom
        self.root = self.cloud.root(
            media_margin_h=12, media_refresh_horizon_h=30, tick_allow_as_of=True
        )
        self.media = self.root.media()

    def group(self, chat_id: str, members: int = 0, **extra: Any) -> Group:
        self.wecom.chats.setdefault(chat_id, {"name": chat_id, "owner": "zhangsan"})
        spec = GroupSpec(
            name=f"{chat_id}群",
            owner_userid="zhangsan",
            city="上海",
            kind="food",
            lat=31.23,
            lng=121.47,
            coord_system="wgs84",
            member_count=members,
            **extra,
        )
        return self.root.group_admin().put(chat_id, spec)


# -- the content library -------------------------------------------------------------------


def test_an_asset_is_stored_once_and_must_be_what_its_kind_says() -> None:
    w = World()
    first = w.media.add(upload())
    again = w.media.add(upload())
    assert again == first and list(w.cloud.blobs.objects) == [first.blob]
    assert first.content_type == "image/png" and first.size == len(PNG)
    with pytest.raises(InvalidInput) as not_png:
        w.media.add(upload(data=b"GIF89a" + bytes(20)))
    assert not_png.value.field == "content_base64"
    with pytest.raises(InvalidInput):
        w.media.add(upload(kind="video", name="a.mp4", data=PNG))
    with pytest.raises(ValidationError):
        upload(name="../etc/passwd")


def test_a_media_id_is_uploaded_when_needed_and_again_before_it_expires() -> None:
    w = World()
    asset = w.media.add(upload())
    assert w.wecom.uploads == []  # nothing goes to WeCom until a message needs it
    first = w.media.media_ids([asset.id])[asset.id]
    assert w.media.media_ids([asset.id])[asset.id] == first and len(w.wecom.uploads) == 1
    w.clock.advance(2 * 86_400)  # 24 h of life left: more than the 12-h margin
    assert w.media.media_ids([asset.id])[asset.id] == first
    w.clock.advance(13 * 3600)  # 11 h left: replaced before a send
    second = w.media.media_ids([asset.id])[asset.id]
    assert second != first and len(w.wecom.uploads) == 2
    # The send's own moment counts too (a tick playing days forward on the local stack).
    later = w.media.media_ids([asset.id], now=w.clock.now() + timedelta(days=4))
    assert later[asset.id] != second


def test_the_upkeep_job_renews_what_would_expire_within_its_horizon() -> None:
    w = World()
    asset = w.media.add(upload())
    upkeep = w.root.content_upkeep()
    assert upkeep.tick(Tick())["media_uploaded"] == 1  # never uploaded yet
    assert upkeep.tick(Tick())["media_uploaded"] == 0  # a redelivered tick: nothing to do
    w.clock.advance(40 * 3600)  # 32 h left: beyond the 30-h horizon
    assert upkeep.tick(Tick())["media_uploaded"] == 0
    w.clock.advance(3 * 3600)  # 29 h left
    assert upkeep.tick(Tick())["media_uploaded"] == 1
    assert w.cloud.media.docs[asset.id].media_id == "media2"


def test_attachments_name_library_assets_of_the_right_kind() -> None:
    w = World()
    image = w.media.add(upload())
    video = w.media.add(upload("video", "a.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(16)))
    w.media.require("attachments", [Attachment.model_validate(mini(image.id))])
    with pytest.raises(InvalidInput) as wrong_kind:
        w.media.require("attachments", [Attachment.model_validate(mini(video.id))])
    assert wrong_kind.value.field == "attachments[0]"
    missing = "image-" + "0" * 24
    with pytest.raises(InvalidInput, match="no media"):
        w.media.require("x", [Attachment.model_validate(mini(missing))])
    with pytest.raises(ValidationError):  # a raw WeCom media_id lives 3 days: not accepted
        Attachment.model_validate({"msgtype": "video", "video": {"media_id": "MEDIA_ID"}})
    wecom = Attachment.model_validate(mini(image.id)).wecom({image.id: "m1"})
    assert wecom == {
        "msgtype": "miniprogram",
        "miniprogram": {"title": "领券", "pic_media_id": "m1", "appid": "wx1", "page": "/p"},
    }


# -- channel QR codes and welcome attachments ---------------------------------------------


def channel(staff: list[str], **extra: Any) -> ChannelSpec:
    return ChannelSpec(name="网点海报", welcome_text="欢迎", staff=staff, **extra)


def test_a_channel_with_staff_gets_a_contact_way_that_follows_its_staff() -> None:
    w = World()
    service = w.root.channel_service()
    single = service.put("poster", channel(["zhangsan"]))
    assert single.config_id == "cw1" and single.qr_code
    assert w.wecom.contact_ways["cw1"] == {"type": 1, "users": ["zhangsan"], "state": "poster"}
    multi = service.put("poster", channel(["zhangsan", "lisi"]))  # type 1 → 2: a new way
    assert multi.config_id == "cw2" and list(w.wecom.contact_ways) == ["cw2"]
    service.put("poster", channel(["lisi", "wangwu"]))  # same type: changed in place
    assert w.wecom.contact_ways["cw2"]["users"] == ["lisi", "wangwu"]
    gone = service.delete("poster")
    assert gone.config_id == "" and w.wecom.contact_ways == {}
    assert service.put("plain", channel([])).config_id == ""  # no staff: no QR code


def test_a_welcome_carries_the_channels_attachments_with_live_media_ids() -> None:
    w = World()
    image = w.media.add(upload())
    link = {"msgtype": "link", "link": {"title": "开卡礼", "url": "https://bank.example/g"}}
    w.root.channel_service().put(
        "poster", channel(["zhangsan"], attachments=[mini(image.id), link])
    )
    with pytest.raises(InvalidInput):
        w.root.channel_service().put("bad", channel([], attachments=[mini("image-" + "1" * 24)]))
    event = WeComEvent(
        event="change_external_contact",
        change_type="add_external_contact",
        user_id="zhangsan",
        external_user_id="wm1",
        state="poster",
        welcome_code="code1",
        create_time=int(NOW.timestamp()),
        raw_sha256="h",
    )
    w.root.welcome_sender().try_send(event, "callback", budget_s=1.0)
    [sent] = w.wecom.welcome_attachments
    assert sent[0]["miniprogram"]["pic_media_id"] == "media1"
    assert sent[1] == link


# -- group codes ---------------------------------------------------------------------------


def test_a_group_code_holds_the_five_emptiest_groups_and_moves_on_when_one_fills() -> None:
    w = World()
    for n in range(7):
        w.group(f"wr{n}", members=10 * n)
    codes = w.root.group_codes()
    code = codes.put("sh-food", GroupCodeSpec(name="上海美食", city="上海"))
    assert code.chat_ids == ["wr0", "wr1", "wr2", "wr3", "wr4"]
    assert w.wecom.way_chats[code.config_id] == code.chat_ids
    w.group("wr1", members=200)  # full at the QR join limit
    moved = codes.get("sh-food")
    assert moved.chat_ids == ["wr0", "wr2", "wr3", "wr4", "wr5"]
    assert w.wecom.way_chats[code.config_id] == moved.chat_ids
    w.root.group_admin().dismiss("wr0")
    assert codes.get("sh-food").chat_ids == ["wr2", "wr3", "wr4", "wr5", "wr6"]


def test_a_code_with_no_group_left_raises_an_ops_task_once_a_day() -> None:
    w = World()
    w.group("wr0")
    codes = w.root.group_codes()
    with pytest.raises(Conflict):
        codes.put("bj", GroupCodeSpec(name="北京", city="北京"))  # no group there at all
    codes.put("sh", GroupCodeSpec(name="上海", city="上海"))
    w.group("wr0", members=200)
    code = codes.get("sh")
    assert code.exhausted and code.chat_ids == ["wr0"]  # WeCom needs ≥ 1 chat: it stays
    w.root.content_upkeep().tick(Tick())
    tasks = [t for t in w.cloud.ops_tasks.list_open() if t.kind == "group_code_exhausted"]
    assert len(tasks) == 1
    w.group("wr0", members=150)  # members left: the code admits again
    assert codes.get("sh").chat_ids == ["wr0"] and not codes.get("sh").exhausted
    w.group("wr9")  # a new group with room: the code takes it in too
    assert codes.get("sh").chat_ids == ["wr0", "wr9"]


# -- group welcomes ------------------------------------------------------------------------


def campaign(name: str, **overrides: Any) -> CampaignSpec:
    base: dict[str, Any] = {
        "name": name,
        "schedule": {"kind": "weekly", "weekdays": [1, 3], "at": "10:00"},
        "active_from": "2026-11-01",
        "audience": {"kind": "groups", "cities": ["上海"]},
        "content": {"text": "今日福利"},
    }
    return CampaignSpec.model_validate(base | overrides)


def test_a_group_welcome_lists_the_groups_benefits_and_follows_the_campaigns() -> None:
    w = World()
    admin = w.root.campaign_admin()
    admin.put("c1", campaign("周一周三早餐券"))
    admin.put("c2", campaign("北京专享", audience={"kind": "groups", "cities": ["北京"]}))
    group = w.group("wr1", welcome=GroupWelcomeSpec(intro="欢迎%NICKNAME%"))
    [(text, attachment)] = w.wecom.templates.values()
    assert text == "欢迎%NICKNAME%\n\n本群福利：\n· 周一周三早餐券（每周一、三 10:00）"
    assert attachment is None and group.welcome_template_id == "tpl1"
    admin.put(
        "c3", campaign("月末加油", schedule={"kind": "monthly", "days": ["last"], "at": "09:00"})
    )
    text, _ = w.wecom.templates["tpl1"]
    assert "· 月末加油（每月月末 09:00）" in text
    edits = dict(w.wecom.templates)
    admin.put("c2", campaign("北京专享改", audience={"kind": "groups", "cities": ["北京"]}))
    assert w.wecom.templates == edits  # nothing this group shows changed
    admin.put("c1", campaign("周一周三早餐券", active_to="2026-11-24"))  # ended yesterday
    assert "早餐券" not in w.wecom.templates["tpl1"][0]


def test_a_long_benefit_list_is_cut_to_wecoms_bytes_and_the_template_limit_is_a_conflict() -> None:
    lines = [f"· 第{n}项福利活动名称很长很长很长（每天 10:00）" for n in range(200)]
    text = render(GroupWelcomeSpec(intro="欢迎"), lines)
    assert len(text.encode()) <= MAX_TEMPLATE_BYTES and text.endswith("…等共200项福利")
    w = World()
    w.wecom.template_limit = 0
    with pytest.raises(Conflict):
        w.group("wr1", welcome=GroupWelcomeSpec(intro="欢迎"))


# -- pulling a 群发 back -------------------------------------------------------------------


def test_cancel_stops_unsent_tasks_keeps_sent_ones_and_never_makes_late_ones() -> None:
    w = World()
    for chat in ("wr1", "wr2"):
        w.group(chat)
    admin, planner = w.root.campaign_admin(), w.root.campaign_planner()
    admin.put("daily", campaign("每日", schedule={"kind": "daily", "at": "10:00"}))
    w.cloud.audience.group_targets = [
        Target(id="wr1", owner="zhangsan"),
        Target(id="wr2", owner="lisi"),
    ]
    planner.tick(Tick())
    batches = [m for m, _ in w.cloud.topic(w.root.settings.topic_campaign_batches).sent]
    assert len(batches) == 2
    sender = w.root.batch_sender()
    first = sender.send(batches[0])
    w.wecom.confirm(first)  # zhangsan sent it already
    occurrence = batches[0].run_id.split("@", 1)[1]
    result = admin.cancel("daily", occurrence)
    assert [t.outcome for t in result.tasks] == ["already_sent"]
    assert sender.send(batches[1]) == ""  # arrived after the cancel: never made
    again = admin.cancel("daily", occurrence)
    assert sorted(t.outcome for t in again.tasks) == ["already_sent", "not_created"]
    assert w.cloud.runs.docs[batches[0].run_id].status is RunStatus.CANCELLED
    assert len(w.wecom.tasks) == 1


def test_cancel_pulls_back_a_task_staff_have_not_sent() -> None:
    w = World()
    w.group("wr1")
    admin, planner = w.root.campaign_admin(), w.root.campaign_planner()
    admin.put("daily", campaign("每日", schedule={"kind": "daily", "at": "10:00"}))
    w.cloud.audience.group_targets = [Target(id="wr1", owner="zhangsan")]
    planner.tick(Tick())
    [batch] = [m for m, _ in w.cloud.topic(w.root.settings.topic_campaign_batches).sent]
    msgid = w.root.batch_sender().send(batch)
    result = admin.cancel("daily", batch.run_id.split("@", 1)[1])
    assert [t.outcome for t in result.tasks] == ["cancelled"]
    w.wecom.confirm(msgid)  # too late: WeCom no longer lets it be sent
    assert not w.wecom.get_groupmsg_task(msgid)[0].sent
    admin.cancel("daily", batch.run_id.split("@", 1)[1])
    assert w.wecom.tasks[msgid]["cancel_calls"] == 1  # asking again changes nothing
    assert admin.runs("daily")[0].cancelled == 1


# -- groups handed over with the customers ----------------------------------------------------


def test_a_leavers_groups_move_with_the_transfer_and_a_serving_members_twice_in_90_days() -> None:
    w = World()
    for chat in ("wr1", "wr2", "wr3"):
        w.group(chat)
    w.wecom.group_refusals = {"wr3": 90500}
    service = w.root.transfers()
    left = service.create(TransferSpec(from_userid="zhangsan", to_userid="lisi", resigned=True))
    assert {g.chat_id: g.status for g in left.groups} == {
        "wr1": "moved",
        "wr2": "moved",
        "wr3": "failed",
    }
    assert w.cloud.groups.docs["wr1"].owner_userid == "lisi"
    assert w.cloud.groups.docs["wr3"].owner_userid == "zhangsan"
    for to in ("wangwu", "lisi"):
        service.create(
            TransferSpec(
                from_userid=w.cloud.groups.docs["wr1"].owner_userid,
                to_userid=to,
                resigned=False,
                groups=["wr1"],
            )
        )
    third = service.create(
        TransferSpec(from_userid="lisi", to_userid="wangwu", resigned=False, groups=["wr1"])
    )
    [refused] = third.groups
    assert refused.status == "refused" and "90 days" in refused.reason
