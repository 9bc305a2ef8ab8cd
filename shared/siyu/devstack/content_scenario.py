"""The demo's content act: a channel QR code made in WeCom and scanned, its welcome with a
mini-program card from the content library, a group code over the city's benefit groups,
and a group welcome listing the group's campaigns."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from struct import pack
from typing import Any

import httpx

from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until

STATE = "branch_poster"
STAFF = "zhangsan"
CITY = "上海"


def cover_png() -> bytes:
    """A real 52×52 PNG (WeCom suggests 520×416 covers; a tenth keeps the demo small)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc8\x10\x2e" * 52 for _ in range(52))
    header = pack(">IIBBBBB", 52, 52, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass
class ContentSummary:
    asset: dict[str, Any] = field(default_factory=dict)
    channel: dict[str, Any] = field(default_factory=dict)
    welcome: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)
    template: str = ""

    def render(self) -> str:
        kinds = [a["msgtype"] for a in self.welcome.get("attachments", [])]
        lines = [
            "Front doors and content (联系我, 群活码, 入群欢迎语, the media library):",
            f"  Library: {self.asset.get('id')} ({self.asset.get('size')} bytes, kept in the "
            "media bucket; uploaded to WeCom when needed, renewed before its 3 days end)",
            f"  Channel {STATE}: 联系我 code {self.channel.get('config_id')} for "
            f"{', '.join(self.channel.get('staff', []))}",
            f'  A customer scanned it → welcome "{self.welcome.get("text", "")}" with '
            f"{', '.join(kinds) or 'no attachments'}",
            f"  Group code {self.code.get('id')} ({CITY}): {len(self.code.get('chat_ids', []))} "
            f"groups with room → {', '.join(self.code.get('chat_ids', []))}",
            "  Group welcome template: " + self.template.replace("\n", " / "),
            "",
        ]
        return "\n".join(lines)


def play(cfg: StackConfig) -> ContentSummary:
    ops = cfg.ops_client()
    sim = httpx.Client(base_url=cfg.simulator_url, timeout=30)
    summary = ContentSummary()
    upload = {
        "kind": "image",
        "filename": "branch_cover.png",
        "content_base64": base64.b64encode(cover_png()).decode(),
    }
    summary.asset = ops.post("/ops/media", json=upload).raise_for_status().json()
    channel = {
        "name": "分行活码海报",
        "welcome_text": "您好，欢迎来到网点福利专区！",
        "staff": [STAFF],
        "attachments": [
            {
                "msgtype": "miniprogram",
                "miniprogram": {
                    "title": "领取开卡礼",
                    "pic_media": summary.asset["id"],
                    "appid": "wx8bd80126147dfAAA",
                    "page": "/pages/gift/index",
                },
            }
        ],
    }
    summary.channel = ops.put(f"/ops/channels/{STATE}", json=channel).raise_for_status().json()
    sim.post(
        "/_sim/scan",
        json={"qr_code": summary.channel["qr_code"], "external_userid": "wm_demo_poster"},
    ).raise_for_status()
    found = until(
        lambda: [
            w for w in sim.get("/_sim/welcomes").json() if w["external_userid"] == "wm_demo_poster"
        ]
    )
    summary.welcome = found[0] if found else {}
    code = {"name": "上海美食福利", "city": CITY}
    summary.code = ops.put("/ops/group-codes/sh-food", json=code).raise_for_status().json()
    group = ops.get("/ops/groups/wr_demo_lujiazui").raise_for_status().json()
    spec = {k: group[k] for k in ("name", "owner_userid", "city", "kind", "tags", "member_count")}
    spec |= {
        "lat": group["location"]["source_lat"],
        "lng": group["location"]["source_lng"],
        "coord_system": group["location"]["source_system"],
        "welcome": {"intro": "欢迎%NICKNAME%加入陆家嘴福利群"},
    }
    template_id = (
        ops.put("/ops/groups/wr_demo_lujiazui", json=spec)
        .raise_for_status()
        .json()["welcome_template_id"]
    )
    templates = sim.get("/_sim/content/welcome_templates").json()
    summary.template = templates.get(template_id, {}).get("text", {}).get("content", "")
    return summary
