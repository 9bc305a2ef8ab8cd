"""The simulator's content and front-door APIs, as their pages define them: temporary media
(90253), 联系我 (92228), join ways beyond add/get (92229), group welcome templates (92366),
cancelling a 群发 (97611) and handing customer groups over (92127, 95703)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request

MEDIA_LIFETIME_S = 3 * 86_400  # 90253: a media_id is valid for three days
MEDIA_MIN_BYTES = 6  # "所有文件size必须大于5个字节"
MEDIA_MAX_BYTES = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "file": 20 * 1024 * 1024,
}
MEDIA_SIZE_ERRORS = {"image": 40009, "video": 40011}  # others: 40006 (90313)
WAYS_PER_CORP = 500_000  # 联系我 and 加入群聊 made through the API share one quota
WAY_USERS = 100  # 41041 beyond (and a single-member way takes exactly one)
TEMPLATES_PER_CORP = 100  # 92366: the group welcome template library
TEMPLATE_TEXT_BYTES = 3_000
ATTACHMENTS = 9  # 92137, 92135
WELCOME_KINDS = ("image", "link", "miniprogram", "video", "file")
CHATS_PER_TRANSFER = 100  # 92127, 95703: chat_id_list 1 ~ 100
ONJOB_GROUP_TRANSFERS = 2  # 95703: a serving member's group at most twice in 90 natural days
ONJOB_WINDOW_S = 90 * 86_400
CODES = {
    40004: "invalid media type",
    40005: "invalid type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40009: "invalid image size",
    40011: "invalid video size",
    40037: "invalid template_id",
    41037: "missing contact way type",
    41038: "missing contact way scene",
    41039: "invalid contact way type",
    41040: "invalid contact way scene",
    41041: "contact way user count over the limit",
    41043: "missing config_id",
    41044: "invalid config_id",
    41045: "contact way count over the limit",
    41046: "missing group msg id",
    41047: "invalid group msg id",
    41055: "group welcome template count over the limit",
    41064: "attachment count over the limit",
    41065: "invalid attachment type",
    41093: "group msg task cancelled",
    90500: "the owner of this chat is not resigned",
}

Answer = Callable[..., Response]
Register = Callable[[str, str], Callable[[Callable[[str], Response]], None]]


def media_error(sim: Any, media_id: str) -> int | None:
    """40007 for an id WeCom never issued, 40145 once its three days are over (90313)."""
    media = sim.state.media.get(media_id)
    if media is None:
        return 40007
    if sim.now() - media["created_at"] >= MEDIA_LIFETIME_S:
        return 40145
    return None


def attachment_error(sim: Any, attachments: list[dict[str, Any]]) -> int | None:
    """92137/92135: ≤ 9 attachments, each carrying the part its msgtype names, media alive."""
    if len(attachments) > ATTACHMENTS:
        return 41064
    for item in attachments:
        kind = item.get("msgtype")
        if kind not in WELCOME_KINDS:
            return 41065
        part = item.get(kind)
        if not isinstance(part, dict):
            return 40058
        code = part_error(sim, kind, part)
        if code is not None:
            return code
    return None


def part_error(sim: Any, kind: str, part: dict[str, Any]) -> int | None:
    """One image/link/miniprogram/video/file as 92137 and 92366 define its fields."""
    required = {
        "link": ("title", "url"),
        "miniprogram": ("title", "pic_media_id", "appid", "page"),
        "video": ("media_id",),
        "file": ("media_id",),
    }.get(kind, ())
    if any(not part.get(f) for f in required):
        return 40058
    if kind == "image" and not (part.get("media_id") or part.get("pic_url")):
        return 40058
    media = part.get("pic_media_id") if kind == "miniprogram" else part.get("media_id")
    return media_error(sim, media) if media else None


def register(app: Flask, sim: Any, wecom_api: Register, answer: Answer) -> None:
    def body() -> dict[str, Any]:
        found = request.get_json(silent=True)
        return found if isinstance(found, dict) else {}

    def ways_used() -> int:
        return len(sim.state.contact_ways) + len(sim.state.join_ways)

    # -- media/upload (90253) -------------------------------------------------------------

    @wecom_api("POST", "media/upload")
    def upload(api: str) -> Response:
        """multipart/form-data, the file under the name "media"; ids live three days."""
        kind = request.args.get("type", "")
        if kind not in MEDIA_MAX_BYTES:
            return answer(api, 40005)
        upload = request.files.get("media")
        if upload is None or not upload.filename:
            return answer(api, 44001)
        data = upload.read()
        if not MEDIA_MIN_BYTES <= len(data) <= MEDIA_MAX_BYTES[kind]:
            return answer(api, MEDIA_SIZE_ERRORS.get(kind, 40006))
        if kind == "image" and not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
            return answer(api, 40004)  # JPG or PNG only
        if kind == "video" and data[4:8] != b"ftyp":
            return answer(api, 40004)  # MP4 only
        media_id = sim.new_id("media_")
        created = int(sim.now())
        sim.state.media[media_id] = {
            "type": kind,
            "filename": upload.filename,
            "size": len(data),
            "created_at": created,
        }
        return answer(api, type=kind, media_id=media_id, created_at=str(created))

    # -- 联系我 (92228) -------------------------------------------------------------------

    def way_fields(sent: dict[str, Any], way_type: int) -> int | None:
        users = sent.get("user") or []
        if len(str(sent.get("state", ""))) > 30 or len(str(sent.get("remark", ""))) > 30:
            return 40058
        if way_type == 1 and len(users) != 1:
            return 41041  # a single-member way has exactly one member
        if len(users) > WAY_USERS:
            return 41041
        if way_type == 2 and not (users or sent.get("party")):
            return 40058
        return None

    @wecom_api("POST", "externalcontact/add_contact_way")
    def add_contact_way(api: str) -> Response:
        sent = body()
        if "type" not in sent:
            return answer(api, 41037)
        if "scene" not in sent:
            return answer(api, 41038)
        if sent["type"] not in (1, 2):
            return answer(api, 41039)
        if sent["scene"] not in (1, 2):
            return answer(api, 41040)
        code = way_fields(sent, sent["type"])
        if code is not None:
            return answer(api, code)
        if ways_used() >= WAYS_PER_CORP:
            return answer(api, 41045)
        config_id = sim.new_id("cw")
        qr_code = f"https://wework.qpic.cn/wwpic/sim/contact/{config_id}/0"
        sim.state.contact_ways[config_id] = {
            "config_id": config_id,
            "type": sent["type"],
            "scene": sent["scene"],
            "remark": sent.get("remark", ""),
            "skip_verify": sent.get("skip_verify", True),
            "state": sent.get("state", ""),
            "user": list(sent.get("user") or []),
            "party": list(sent.get("party") or []),
        }
        if sent["scene"] == 2:
            sim.state.contact_ways[config_id]["qr_code"] = qr_code
            return answer(api, config_id=config_id, qr_code=qr_code)
        return answer(api, config_id=config_id)

    def known_way(sent: dict[str, Any]) -> tuple[dict[str, Any] | None, int | None]:
        if not sent.get("config_id"):
            return None, 41043
        way = sim.state.contact_ways.get(sent["config_id"])
        return (way, None) if way else (None, 41044)

    @wecom_api("POST", "externalcontact/get_contact_way")
    def get_contact_way(api: str) -> Response:
        way, code = known_way(body())
        return answer(api, code) if code else answer(api, contact_way=way)

    @wecom_api("POST", "externalcontact/update_contact_way")
    def update_contact_way(api: str) -> Response:
        """Fields given replace the stored ones; `user` replaces the member list."""
        sent = body()
        way, code = known_way(sent)
        if way is None:
            return answer(api, code)
        merged = {**way, **{k: v for k, v in sent.items() if k in way and k != "type"}}
        code = way_fields(merged, way["type"])
        if code is not None:
            return answer(api, code)
        way.update(merged)
        return answer(api)

    @wecom_api("POST", "externalcontact/del_contact_way")
    def del_contact_way(api: str) -> Response:
        sent = body()
        way, code = known_way(sent)
        if way is None:
            return answer(api, code)
        del sim.state.contact_ways[sent["config_id"]]
        return answer(api)

    # -- join ways beyond add/get (92229) -------------------------------------------------

    @wecom_api("POST", "externalcontact/groupchat/update_join_way")
    def update_join_way(api: str) -> Response:
        """Overwrites the way: scene and chat_id_list are required again."""
        sent = body()
        way = sim.state.join_ways.get(sent.get("config_id", ""))
        if way is None:
            return answer(api, 40058)
        chats = sent.get("chat_id_list") or []
        if sent.get("scene") not in (1, 2) or not chats:
            return answer(api, 40058)
        if len(chats) > 5:
            return answer(api, 41091)
        if any(c not in sim.state.groups for c in chats):
            return answer(api, 40050)
        way.update(
            {k: sent.get(k) for k in ("scene", "remark", "auto_create_room", "state")},
            chat_id_list=chats,
        )
        return answer(api)

    @wecom_api("POST", "externalcontact/groupchat/del_join_way")
    def del_join_way(api: str) -> Response:
        if sim.state.join_ways.pop(body().get("config_id", ""), None) is None:
            return answer(api, 40058)
        return answer(api)

    # -- group welcome templates (92366) --------------------------------------------------

    def template_content(sent: dict[str, Any]) -> tuple[dict[str, Any], int | None]:
        content = {k: sent[k] for k in ("text", *WELCOME_KINDS) if sent.get(k)}
        if not content:
            return content, 40058  # "不能全部为空"
        text = (sent.get("text") or {}).get("content", "")
        if len(text.encode()) > TEMPLATE_TEXT_BYTES:
            return content, 45002
        for kind in WELCOME_KINDS:
            if kind in content:
                code = part_error(sim, kind, content[kind])
                if code is not None:
                    return content, code
        return content, None

    @wecom_api("POST", "externalcontact/group_welcome_template/add")
    def add_template(api: str) -> Response:
        content, code = template_content(body())
        if code is not None:
            return answer(api, code)
        if len(sim.state.welcome_templates) >= TEMPLATES_PER_CORP:
            return answer(api, 41055)
        template_id = sim.new_id("msg")
        sim.state.welcome_templates[template_id] = content
        return answer(api, template_id=template_id)

    @wecom_api("POST", "externalcontact/group_welcome_template/edit")
    def edit_template(api: str) -> Response:
        sent = body()
        if sent.get("template_id") not in sim.state.welcome_templates:
            return answer(api, 40037)
        content, code = template_content(sent)
        if code is not None:
            return answer(api, code)
        sim.state.welcome_templates[sent["template_id"]] = content
        return answer(api)

    @wecom_api("POST", "externalcontact/group_welcome_template/get")
    def get_template(api: str) -> Response:
        template = sim.state.welcome_templates.get(body().get("template_id", ""))
        return answer(api, **template) if template else answer(api, 40037)

    @wecom_api("POST", "externalcontact/group_welcome_template/del")
    def del_template(api: str) -> Response:
        if sim.state.welcome_templates.pop(body().get("template_id", ""), None) is None:
            return answer(api, 40037)
        return answer(api)

    # -- cancelling a 群发 (97611) --------------------------------------------------------

    @wecom_api("POST", "externalcontact/cancel_groupmsg_send")
    def cancel_groupmsg(api: str) -> Response:
        """What staff sent stays sent ("此接口无法撤回已经群发给客户的消息"); an unsent task
        can no longer be sent."""
        msgid = body().get("msgid")
        if not msgid:
            return answer(api, 41046)
        msg = sim.state.groupmsgs.get(msgid)
        if msg is None:
            return answer(api, 41047)
        if msg["status"] == 0:
            msg["cancelled"] = True
        return answer(api)

    # -- customer groups of a leaver or a serving member (92127, 95703) -------------------

    def transfer_chats(api: str, resigned: bool) -> Response:
        sent = body()
        chats = sent.get("chat_id_list") or []
        owner = sent.get("new_owner")
        if not owner or not 1 <= len(chats) <= CHATS_PER_TRANSFER:
            return answer(api, 40058)
        failed = []
        for chat_id in chats:
            code = chat_transfer_error(chat_id, resigned)
            if code is None:
                sim.state.groups[chat_id]["owner"] = owner
                sim.state.chat_transfers.append(
                    {"chat_id": chat_id, "at": sim.now(), "onjob": not resigned}
                )
            else:
                failed.append({"chat_id": chat_id, "errcode": code, "errmsg": CODES.get(code, "")})
        return answer(api, failed_chat_list=failed)

    def chat_transfer_error(chat_id: str, resigned: bool) -> int | None:
        group = sim.state.groups.get(chat_id)
        if group is None:
            return 40050
        if group.get("dismissed"):
            return 49008
        if resigned and group["owner"] not in sim.config.resigned_members:
            return 90500  # "群主离职了的客户群，才可继承"
        recent = [
            t
            for t in sim.state.chat_transfers
            if t["chat_id"] == chat_id and t["onjob"] and sim.now() - t["at"] < ONJOB_WINDOW_S
        ]
        if not resigned and len(recent) >= ONJOB_GROUP_TRANSFERS:
            # 95703 states the limit but names no code: the customers' one (40128) stands in.
            return 40128
        return None

    wecom_api("POST", "externalcontact/groupchat/transfer")(
        lambda api: transfer_chats(api, resigned=True)
    )
    wecom_api("POST", "externalcontact/groupchat/onjob_transfer")(
        lambda api: transfer_chats(api, resigned=False)
    )

    # -- the control surface ---------------------------------------------------------------

    @app.get("/_sim/content/<kind>")
    def content(kind: str) -> Response | tuple[Response, int]:
        """What WeCom holds: media, contact_ways, join_ways, welcome_templates, chat_transfers."""
        shown = {"media", "contact_ways", "join_ways", "welcome_templates", "chat_transfers"}
        if kind not in shown:
            return jsonify({"error": f"one of {sorted(shown)}"}), 404
        with sim.lock:
            return jsonify(getattr(sim.state, kind))

    @app.post("/_sim/scan")
    def scan() -> Response | tuple[Response, int]:
        """A customer scans a QR code: a 联系我 code adds them to one of its members (with the
        code's state), a join code puts them in the first of its groups below 200 members.
        Body: {"qr_code": …, "external_userid"?: …}. Returns the callback it delivered."""
        sent = body()
        with sim.lock:
            event = scan_event(sent.get("qr_code", ""), sent.get("external_userid", ""))
            if event is None:
                return jsonify({"error": "no code, or every group of the code is full"}), 404
            event = sim.prepare_event(event)
        return jsonify({"event": event, "deliveries": sim.deliver(event)})

    def scan_event(qr_code: str, external_userid: str) -> dict[str, Any] | None:
        way = next(
            (w for w in sim.state.contact_ways.values() if w.get("qr_code") == qr_code), None
        )
        ext = external_userid or sim.new_id("wm")
        if way is not None:
            return {
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "UserID": way["user"][sim.random.randrange(len(way["user"]))],
                "ExternalUserID": ext,
                "State": way["state"],
            }
        join = next((w for w in sim.state.join_ways.values() if w.get("qr_code") == qr_code), None)
        if join is None:
            return None
        for chat_id in join["chat_id_list"]:
            group = sim.state.groups.get(chat_id)
            # 92229: a QR code stops admitting at 200 members; the way tries its next group.
            if group and not group.get("dismissed") and len(group["member_list"]) < 200:
                return {
                    "Event": "change_external_chat",
                    "ChangeType": "update",
                    "UpdateDetail": "add_member",
                    "ChatId": chat_id,
                    "JoinScene": 3,
                    "MemChangeList": [ext],
                }
        return None
