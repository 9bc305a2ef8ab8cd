"""A WeCom simulator: the server API siyu calls, and WeCom's side of the callback protocol.

It keeps contacts, groups and corp tags in memory, issues expiring access tokens, answers
with WeCom's real error codes, injects faults at a configured rate, records every call,
and can encrypt and POST callbacks to siyu as WeCom does (5-s timeout, 3 tries).
"""

from __future__ import annotations

import argparse
import calendar
import functools
import itertools
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from flask import Flask, Response, jsonify, request

from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.adapters.wecom.events import render_envelope, render_event
from siyu.config import Settings
from siyu.devstack import simulator_content, simulator_login

# Error codes and their meaning as 90313 (and the API's own page) define them.
API_ERRORS = {
    -1: "system busy",
    40001: "invalid credential",
    40014: "invalid access_token",
    40050: "chatid not found",  # 40050 chatid不存在
    40056: "invalid agentid",
    40058: "invalid parameter",
    40068: "invalid tagid",
    40072: "invalid tag name length",
    40128: "customer transferred too often",  # twice within 90 natural days (92125)
    40131: "handover_userid is not a follower of the customer",
    41050: "invalid welcome code",  # invalid, expired (20 s) or used (92137)
    41051: "externaluser has started chatting",  # the welcome was delivered already
    41063: "group msg is being dispatched, try again later",
    41091: "a join way may link at most 5 groups",
    41094: "group msg remind frequency limit",
    41096: "welcome msg is being distributed",  # another app sends it now (92137)
    42001: "access_token expired",
    45002: "message content over the size limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    48002: "api forbidden",
    49008: "group chat dismissed",
    81013: "all recipients invalid",  # message/send (90236)
    84061: "not external contact",
    40145: "media_id expired",
    44001: "empty media file",
    **simulator_content.CODES,
    **simulator_login.CODES,
}
DELIVERY_TIMEOUT_S = 5.0  # WeCom's wait for the callback answer
DELIVERY_TRIES = 3
MASS_LIMITS = {"single": 10_000, "group": 2_000}
APP_MESSAGES_PER_MEMBER_MIN = 30
FOLLOWERS_PER_PAGE = 500  # externalcontact/get pages followers beyond 500 (92114)
TRANSFER_WINDOW_S = 90 * 86_400  # in-service transfers: at most 2 within 90 natural days
TRANSFERS_PER_WINDOW = 2
# 群发 attachment limits in UTF-8 bytes (92135).
ATTACHMENT_BYTES = {("link", "title"): 128, ("link", "desc"): 512, ("miniprogram", "title"): 64}


@dataclass
class SimConfig:
    corp_id: str
    secret: str
    token: str
    aes_key: str
    callback_url: str = ""
    agent_secret: str = ""  # the self-built app's secret; its tokens may send app messages
    agent_id: int = 0
    fault_rate: float = 0.0
    fault_codes: list[int] = field(default_factory=lambda: [-1, 45009, 45033])
    token_ttl_s: int = 7200
    welcome_window_s: float = 20.0
    rate_limit_per_min: int = 10_000
    retry_pause_s: float = 0.2
    fail_next: int = 0  # the next n API calls fail with fault_codes in turn (deterministic)
    time_offset_s: float = 0.0  # transfers' clock: `advance_s` plays WeCom's 24 hours
    refuse_transfer: list[str] = field(default_factory=list)  # customers who refuse
    # What the admin console sets for 群发 per customer or group (92135): "month" allows as
    # many a month as the month has days (WeCom's default), "day" one a day.
    mass_limit: str = "month"
    welcome_busy_next: int = 0  # the next n send_welcome_msg calls answer 41096
    invalid_users: list[str] = field(default_factory=list)  # members message/send can't reach
    groupmsg_dispatch_s: float = 0.0  # get_groupmsg_task answers 41063 this long after creation
    follow_page_size: int = FOLLOWERS_PER_PAGE
    broken_chats: list[str] = field(default_factory=list)  # groupchat/get answers -1 for these
    resigned_members: list[str] = field(default_factory=list)  # whose groups may be inherited
    trusted_domains: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost"])
    non_members: list[str] = field(default_factory=list)  # web logins that are not members


@dataclass
class SimState:
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    token_apps: dict[str, str] = field(default_factory=dict)  # token -> "contact" | "agent"
    messages: list[dict[str, Any]] = field(default_factory=list)  # app messages, with drops
    groupmsgs: dict[str, dict[str, Any]] = field(default_factory=dict)  # 群发 tasks by msgid
    # (month or day, target) → the msgids it received
    mass_received: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    tag_groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    welcome_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    join_ways: dict[str, dict[str, Any]] = field(default_factory=dict)
    contact_ways: dict[str, dict[str, Any]] = field(default_factory=dict)
    media: dict[str, dict[str, Any]] = field(default_factory=dict)  # temporary media by id
    welcome_templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    chat_transfers: list[dict[str, Any]] = field(default_factory=list)
    welcomes_sent: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    per_minute: dict[tuple[str, int], int] = field(default_factory=dict)
    login_codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # web login codes


class WeComSimulator:
    def __init__(self, config: SimConfig, seed: int | None = None) -> None:
        self.config = config
        self.state = SimState()
        self.lock = threading.RLock()
        self.random = random.Random(seed)
        self.ids = itertools.count(1)
        self.crypto = WeComCrypto(config.token, config.aes_key, config.corp_id)

    # -- helpers ------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):06d}{secrets.token_hex(3)}"

    def record(self, api: str, errcode: int, **details: Any) -> None:
        self.state.calls.append({"api": api, "errcode": errcode, "at": time.time(), **details})

    def fault(self, api: str) -> int | None:
        """An injected or rate-limit error code for this call, if any."""
        minute = int(time.time() // 60)
        key = (api, minute)
        self.state.per_minute[key] = self.state.per_minute.get(key, 0) + 1
        if self.state.per_minute[key] > self.config.rate_limit_per_min:
            return 45009
        if self.config.fail_next > 0:
            self.config.fail_next -= 1
            return self.config.fault_codes[self.config.fail_next % len(self.config.fault_codes)]
        if self.config.fault_rate and self.random.random() < self.config.fault_rate:
            return self.random.choice(self.config.fault_codes)
        return None

    def token_error(self, token: str | None) -> int | None:
        if not token or token not in self.state.tokens:
            return 40014
        if time.monotonic() >= self.state.tokens[token]:
            return 42001
        return None

    # -- tags ---------------------------------------------------------------------------

    def all_tags(self) -> dict[str, dict[str, Any]]:
        return {t["id"]: t for g in self.state.tag_groups.values() for t in g["tag"]}

    def add_tags(self, group_name: str, names: list[str]) -> dict[str, Any]:
        group = next(
            (g for g in self.state.tag_groups.values() if g["group_name"] == group_name), None
        )
        if group is None:
            gid = self.new_id("et_g_")
            group = {
                "group_id": gid,
                "group_name": group_name,
                "create_time": int(time.time()),
                "order": 0,
                "tag": [],
            }
            self.state.tag_groups[gid] = group
        added = []
        for name in names:
            if any(t["name"] == name for t in group["tag"]):
                continue
            tag = {
                "id": self.new_id("et_t_"),
                "name": name,
                "create_time": int(time.time()),
                "order": 0,
            }
            group["tag"].append(tag)
            added.append(tag)
        return {**group, "tag": added}

    # -- acting as WeCom towards siyu ------------------------------------------------------

    def prepare_event(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Fill what WeCom fills and register the contact, group or WelcomeCode it implies."""
        now = int(time.time())
        event = {
            "ToUserName": self.config.corp_id,
            "FromUserName": "sys",
            "CreateTime": now,
            "MsgType": "event",
            **fields,
        }
        kind = event.get("ChangeType", "")
        if event.get("Event") == "change_external_contact" and kind.startswith("add_"):
            ext = event.setdefault("ExternalUserID", self.new_id("wm"))
            staff = event.get("UserID", "staff")
            contact = self.state.contacts.setdefault(
                ext,
                {
                    "external_contact": {
                        "external_userid": ext,
                        "name": event.pop("Name", f"客户{ext[-4:]}"),
                        "type": 1,
                    },
                    "follow_user": [],
                },
            )
            event.pop("Name", None)
            if not any(f["userid"] == staff for f in contact["follow_user"]):
                contact["follow_user"].append(
                    {
                        "userid": staff,
                        "state": event.get("State", ""),
                        "createtime": now,
                        "tags": [],
                    }
                )
            if event.get("WelcomeCode", "auto") == "auto":
                code = secrets.token_urlsafe(24)
                event["WelcomeCode"] = code
                self.state.welcome_codes[code] = {
                    "issued": time.monotonic(),
                    "used": False,
                    "external_userid": ext,
                    "userid": staff,
                }
            elif not event.get("WelcomeCode"):
                event.pop("WelcomeCode", None)
        if kind == "edit_external_contact":
            self.edit_tags(event)
        if event.get("Event") == "change_external_tag":
            self.admin_tag_change(event)
        if event.get("Event") == "change_external_chat":
            chat = event.setdefault("ChatId", self.new_id("wr"))
            group = self.ensure_group(chat, event.pop("Name", ""), event.get("UserID", "staff"))
            self.change_members(group, event, now)
            if kind == "dismiss":
                group["dismissed"] = True
        return event

    def now(self) -> float:
        return time.time() + self.config.time_offset_s

    def hand_over(self, rec: dict[str, Any]) -> None:
        contact = self.state.contacts.get(rec["external_userid"])
        if contact is None:
            return
        old = next((f for f in contact["follow_user"] if f["userid"] == rec["handover"]), None)
        contact["follow_user"] = [f for f in contact["follow_user"] if f is not old]
        if not any(f["userid"] == rec["takeover"] for f in contact["follow_user"]):
            contact["follow_user"].append(
                {
                    "userid": rec["takeover"],
                    "state": old["state"] if old else "",
                    "createtime": int(self.now()),
                    "tags": old["tags"] if old else [],
                }
            )

    def edit_tags(self, event: dict[str, Any]) -> None:
        """A staff member edits the customer's tags in the client: `AddTags` / `RemoveTags`
        (tag ids) change that relation's tags before WeCom tells siyu."""
        add, remove = event.pop("AddTags", []), set(event.pop("RemoveTags", []))
        contact = self.state.contacts.get(event.get("ExternalUserID", ""))
        staff = event.get("UserID", "")
        follow = next(
            (f for f in (contact or {}).get("follow_user", []) if f["userid"] == staff), None
        )
        if follow is None:
            return
        known = self.all_tags()
        held = {t["tag_id"] for t in follow["tags"]} - remove | {t for t in add if t in known}
        follow["tags"] = [self.tag_entry(t) for t in sorted(held) if t in known]

    def tag_entry(self, tag_id: str) -> dict[str, Any]:
        tag = self.all_tags()[tag_id]
        return {
            "tag_id": tag_id,
            "tag_name": tag["name"],
            "type": 1,
            "group_name": _group_of(self.state, tag_id),
        }

    def admin_tag_change(self, event: dict[str, Any]) -> None:
        """The admin console: `create` with GroupName/Name makes the tag (its Id filled in),
        or with TagType=tag_group and Names the group (Id = the group's id); `delete` with
        Id removes a tag, or a whole group with its tags and no callback per tag (92130)."""
        kind = event.get("ChangeType")
        event.setdefault("TagType", "tag")
        if kind == "create" and event["TagType"] == "tag_group":
            group = self.add_tags(event.pop("GroupName", "默认"), list(event.pop("Names", [])))
            event["Id"] = group["group_id"]
        elif kind == "create" and "Name" in event:
            group = self.add_tags(event.pop("GroupName", "默认"), [event.pop("Name")])
            if group["tag"]:
                event["Id"] = group["tag"][0]["id"]
        elif kind == "delete" and event.get("Id"):
            gone_group = self.state.tag_groups.pop(event["Id"], None)
            gone = {t["id"] for t in gone_group["tag"]} if gone_group else {event["Id"]}
            for group in self.state.tag_groups.values():
                group["tag"] = [t for t in group["tag"] if t["id"] not in gone]
            for contact in self.state.contacts.values():
                for follow in contact["follow_user"]:
                    follow["tags"] = [t for t in follow["tags"] if t["tag_id"] not in gone]

    def ensure_group(self, chat_id: str, name: str = "", owner: str = "staff") -> dict[str, Any]:
        return self.state.groups.setdefault(
            chat_id,
            {
                "chat_id": chat_id,
                "name": name or f"福利群{chat_id[-4:]}",
                "owner": owner,
                "create_time": int(time.time()),
                "member_list": [],
                "member_version": secrets.token_hex(16),
            },
        )

    @staticmethod
    def change_members(group: dict[str, Any], event: dict[str, Any], now: int) -> None:
        """add_member / del_member with a MemChangeList: change the member list to match,
        and the member version with it (LastMemVer → CurMemVer, 92130).

        `OmitMemChangeList` drops the list from the callback, as older WeCom versions did;
        `OmitMemVer` drops the versions likewise.
        """
        ids = list(event.get("MemChangeList") or [])
        if event.pop("OmitMemChangeList", False):
            event.pop("MemChangeList", None)
        omit_version = event.pop("OmitMemVer", False)
        detail = event.get("UpdateDetail")
        if not ids or detail not in {"add_member", "del_member"}:
            return
        last, group["member_version"] = group["member_version"], secrets.token_hex(16)
        if not omit_version:
            event.setdefault("LastMemVer", last)
            event.setdefault("CurMemVer", group["member_version"])
        present = {m["userid"] for m in group["member_list"]}
        if detail == "add_member":
            group["member_list"] += [
                {
                    "userid": uid,
                    "type": 2,
                    "join_time": now,
                    "join_scene": int(event.get("JoinScene", 3)),
                }
                for uid in ids
                if uid not in present
            ]
        else:
            group["member_list"] = [m for m in group["member_list"] if m["userid"] not in ids]
        event.setdefault("MemChangeCnt", len(ids))

    def deliver(
        self, event: dict[str, Any], deliveries: int = 1, forge_signature: bool = False
    ) -> list[dict[str, Any]]:
        """Encrypt, sign and POST the event; each delivery is retried like WeCom retries."""
        inner = render_event(event)
        encrypted = self.crypto.encrypt(inner)
        timestamp, nonce = str(int(time.time())), str(self.random.randrange(10**9))
        signature = self.crypto.sign(timestamp, nonce, encrypted)
        if forge_signature:
            signature = ("0" if signature[0] != "0" else "1") + signature[1:]
        body = render_envelope(self.config.corp_id, encrypted, "1000001")
        params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
        return [self._post_with_retries(params, body) for _ in range(deliveries)]

    def _post_with_retries(self, params: dict[str, str], body: bytes) -> dict[str, Any]:
        tries: list[dict[str, Any]] = []
        for _ in range(DELIVERY_TRIES):
            started = time.monotonic()
            try:
                r = httpx.post(
                    self.config.callback_url,
                    params=params,
                    content=body,
                    headers={"Content-Type": "text/xml"},
                    timeout=DELIVERY_TIMEOUT_S,
                )
                outcome = {"status": r.status_code, "body": r.text[:200]}
            except httpx.TimeoutException:
                outcome = {"status": None, "body": "timeout"}
            except httpx.HTTPError as exc:
                outcome = {"status": None, "body": type(exc).__name__}
            outcome["latency_ms"] = round((time.monotonic() - started) * 1000, 2)
            tries.append(outcome)
            # WeCom accepts 200 with an empty body or `success`; anything else is retried.
            if outcome["status"] == 200:
                break
            time.sleep(self.config.retry_pause_s)
        return {**tries[-1], "tries": len(tries), "attempts": tries}


def create_app(sim: WeComSimulator) -> Flask:
    app = Flask("wecom_simulator")
    st = sim.state

    def answer(api: str, errcode: int = 0, **body: Any) -> Response:
        sent = request.get_json(silent=True) if request.method == "POST" else None
        sim.record(api, errcode, fields=sorted(sent) if isinstance(sent, dict) else [])
        return jsonify({"errcode": errcode, "errmsg": API_ERRORS.get(errcode, "ok"), **body})

    def wecom_api(method: str, api: str) -> Callable[[Callable[[str], Response]], None]:
        """Register an authenticated API: the lock, the token check and fault injection."""

        def register(handler: Callable[[str], Response]) -> None:
            def view() -> Response:
                with sim.lock:
                    token = request.args.get("access_token")
                    code = sim.token_error(token) or sim.fault(api)
                    if code is None and api.startswith("externalcontact/"):
                        code = None if st.token_apps.get(token or "") == "contact" else 48002
                    if code is not None:
                        return answer(api, code)
                    return handler(api)

            app.add_url_rule(f"/cgi-bin/{api}", endpoint=api, view_func=view, methods=[method])

        return register

    @app.get("/cgi-bin/gettoken")
    def gettoken() -> Response:
        with sim.lock:
            if (code := sim.fault("gettoken")) is not None:
                return answer("gettoken", code)
            apps = {sim.config.secret: "contact", sim.config.agent_secret: "agent"}
            app_name = apps.get(request.args.get("corpsecret", ""))
            if request.args.get("corpid") != sim.config.corp_id or not app_name:
                return answer("gettoken", 40001)
            live = [
                t
                for t, exp in st.tokens.items()
                if exp > time.monotonic() and st.token_apps.get(t) == app_name
            ]
            token = live[0] if live else secrets.token_urlsafe(32)
            if not live:
                st.tokens[token] = time.monotonic() + sim.config.token_ttl_s
                st.token_apps[token] = app_name
            ttl = int(st.tokens[token] - time.monotonic())
            return answer("gettoken", access_token=token, expires_in=ttl)

    @wecom_api("GET", "externalcontact/get")
    def get_contact(api: str) -> Response:
        """92114: more than 500 followers come in pages joined by `next_cursor`."""
        contact = st.contacts.get(request.args.get("external_userid", ""))
        if contact is None:
            return answer(api, 84061)
        size, cursor = sim.config.follow_page_size, request.args.get("cursor") or "0"
        if not cursor.isdecimal():
            return answer(api, 40058)
        start = int(cursor)
        follows = contact["follow_user"][start : start + size]
        more = start + size < len(contact["follow_user"])
        page: dict[str, Any] = {**contact, "follow_user": follows}
        if more:
            page["next_cursor"] = str(start + size)
        return answer(api, **page)

    @wecom_api("POST", "externalcontact/send_welcome_msg")
    def send_welcome(api: str) -> Response:
        """92137: 41050 for an unknown or expired code, 41051 once it was delivered, 41096
        while another app is sending it."""
        body = request.get_json(force=True)
        text = (body.get("text") or {}).get("content", "")
        attachments = body.get("attachments") or []
        if len(text.encode()) > 4_000:
            return answer(api, 45002)
        if not text and not attachments:
            return answer(api, 40058)  # "text和attachments不能同时为空"
        if (code := simulator_content.attachment_error(sim, attachments)) is not None:
            return answer(api, code)
        entry = st.welcome_codes.get(body.get("welcome_code", ""))
        if entry is not None and entry["used"]:
            return answer(api, 41051)
        if entry is None or time.monotonic() - entry["issued"] > sim.config.welcome_window_s:
            return answer(api, 41050)
        if sim.config.welcome_busy_next > 0:
            sim.config.welcome_busy_next -= 1
            return answer(api, 41096)
        age = time.monotonic() - entry["issued"]
        entry["used"] = True
        st.welcomes_sent.append(
            {
                "external_userid": entry["external_userid"],
                "userid": entry["userid"],
                "text": body.get("text", {}).get("content", ""),
                "attachments": attachments,
                "latency_ms": round(age * 1000, 2),
            }
        )
        return answer(api)

    @wecom_api("POST", "externalcontact/mark_tag")
    def mark_tag(api: str) -> Response:
        body = request.get_json(force=True)
        contact = st.contacts.get(body.get("external_userid", ""))
        if contact is None:
            return answer(api, 84061)
        follow = next(
            (f for f in contact["follow_user"] if f["userid"] == body.get("userid")), None
        )
        if follow is None:
            return answer(api, 84061)
        known = sim.all_tags()
        wanted = body.get("add_tag", []) + body.get("remove_tag", [])
        if any(t not in known for t in wanted):
            return answer(api, 40068)
        held = {t["tag_id"] for t in follow["tags"]} - set(body.get("remove_tag", []))
        held |= set(body.get("add_tag", []))
        follow["tags"] = [sim.tag_entry(t) for t in sorted(held)]
        return answer(api)

    @wecom_api("POST", "externalcontact/get_corp_tag_list")
    def get_corp_tag_list(api: str) -> Response:
        """92117: `tag_id` and `group_id` filter separately; a group id brings the whole
        group; neither returns everything."""
        body = request.get_json(silent=True) or {}
        wanted, wanted_groups = set(body.get("tag_id") or []), set(body.get("group_id") or [])
        groups = []
        for g in st.tag_groups.values():
            whole = g["group_id"] in wanted_groups or not (wanted or wanted_groups)
            tags = [t for t in g["tag"] if whole or t["id"] in wanted]
            if tags:
                groups.append({**g, "tag": tags})
        return answer(api, tag_group=groups)

    @wecom_api("POST", "externalcontact/add_corp_tag")
    def add_corp_tag(api: str) -> Response:
        body = request.get_json(force=True)
        names = [t["name"] for t in body.get("tag", []) if t.get("name")]
        group_name = body.get("group_name", "默认")
        if any(len(n) > 30 for n in [group_name, *names]):
            return answer(api, 40072)  # names are at most 30 characters (92117)
        return answer(api, tag_group=sim.add_tags(group_name, names))

    @wecom_api("POST", "message/send")
    def send_app_message(api: str) -> Response:
        """WeCom drops (without an error) what exceeds 30 messages a minute to one member."""
        if st.token_apps.get(request.args.get("access_token", "")) != "agent":
            return answer(api, 48002)  # the contact secret's token may not send app messages
        body = request.get_json(force=True)
        if body.get("agentid") != sim.config.agent_id:
            return answer(api, 40056)
        """90236: unknown members come back in `invaliduser` (lower-cased); when no
        recipient is valid the call fails with 81013."""
        now = time.time()
        recipients = [u for u in str(body.get("touser", "")).split("|") if u]
        invalid = {u.lower() for u in sim.config.invalid_users}
        valid = [u for u in recipients if u.lower() not in invalid]
        if not valid:
            return answer(api, 81013)
        for touser in valid:
            recent = [
                m
                for m in st.messages
                if m["touser"] == touser and m["delivered"] and now - m["at"] < 60
            ]
            st.messages.append(
                {
                    "touser": touser,
                    "text": body.get("text", {}).get("content", ""),
                    "at": now,
                    "delivered": len(recent) < APP_MESSAGES_PER_MEMBER_MIN,
                }
            )
        unreached = "|".join(u.lower() for u in recipients if u.lower() in invalid)
        return answer(api, invaliduser=unreached, msgid=sim.new_id("msg"))

    @wecom_api("POST", "externalcontact/add_msg_template")
    def add_msg_template(api: str) -> Response:
        """A task the sender confirms in the client (/_sim/groupmsg/confirm)."""
        body = request.get_json(force=True)
        kind = body.get("chat_type", "single")
        targets = body.get("external_userid" if kind == "single" else "chat_id_list") or []
        text = (body.get("text") or {}).get("content", "")
        if (
            kind not in MASS_LIMITS
            or not body.get("sender")
            or not targets
            or len(targets) > MASS_LIMITS[kind]
            or len(text.encode()) > 4_000
            or _over_attachment_bytes(body.get("attachments") or [])
        ):
            return answer(api, 40058)
        attachments = body.get("attachments") or []
        if (code := simulator_content.attachment_error(sim, attachments)) is not None:
            return answer(api, code)
        sender = body["sender"]
        if kind == "single":
            known = {
                ext
                for ext, c in st.contacts.items()
                if any(f["userid"] == sender for f in c["follow_user"])
            }
        else:
            known = {cid for cid, g in st.groups.items() if g.get("owner") == sender}
        fail = [t for t in targets if t not in known]
        msgid = sim.new_id("msg")
        st.groupmsgs[msgid] = {
            "msgid": msgid,
            "chat_type": kind,
            "sender": sender,
            "text": text,
            "attachments": attachments,
            "targets": [t for t in targets if t in known],
            "status": 0,
            "send_time": 0,
            "created": time.monotonic(),
            "results": {},
            "reminders": [],
        }
        return answer(api, fail_list=fail, msgid=msgid)

    @wecom_api("POST", "externalcontact/get_groupmsg_task")
    def get_groupmsg_task(api: str) -> Response:
        msg = st.groupmsgs.get(request.get_json(force=True).get("msgid", ""))
        if msg is None:
            return answer(api, 40058)
        if time.monotonic() - msg["created"] < sim.config.groupmsg_dispatch_s:
            return answer(api, 41063)  # still being dispatched (90313)
        task: dict[str, Any] = {"userid": msg["sender"], "status": msg["status"]}
        if msg["send_time"]:
            task["send_time"] = msg["send_time"]  # "未发送时不返回" (93338)
        return answer(api, next_cursor="", task_list=[task])

    @wecom_api("POST", "externalcontact/get_groupmsg_send_result")
    def get_groupmsg_send_result(api: str) -> Response:
        body = request.get_json(force=True)
        msg = st.groupmsgs.get(body.get("msgid", ""))
        if msg is None:
            return answer(api, 40058)
        key = "external_userid" if msg["chat_type"] == "single" else "chat_id"
        sent = [
            {
                key: t,
                "userid": msg["sender"],
                "status": msg["results"].get(t, 0),
                "send_time": msg["send_time"],
            }
            for t in msg["targets"]
            if body.get("userid") in (None, msg["sender"])
        ]
        return answer(api, next_cursor="", send_list=sent)

    @wecom_api("POST", "externalcontact/remind_groupmsg_send")
    def remind_groupmsg_send(api: str) -> Response:
        msg = st.groupmsgs.get(request.get_json(force=True).get("msgid", ""))
        if msg is None:
            return answer(api, 40058)
        if msg.get("cancelled"):
            return answer(api, 41093)
        now = time.time()
        if len([r for r in msg["reminders"] if now - r < 86_400]) >= 3:
            return answer(api, 41094)  # three reminders per 24 hours
        msg["reminders"].append(now)
        return answer(api)

    def transfer(api: str, resigned: bool) -> Response:
        body = request.get_json(force=True)
        handover, takeover = body.get("handover_userid"), body.get("takeover_userid")
        customers = list(body.get("external_userid") or [])
        if not handover or not takeover or not customers or len(customers) > 100:
            return answer(api, 40058)
        results = []
        for ext in customers:
            contact = st.contacts.get(ext)
            follows = any(f["userid"] == handover for f in (contact or {}).get("follow_user", []))
            recent = [
                t
                for t in st.transfers
                if t["external_userid"] == ext
                and not t["resigned"]
                and sim.now() - t["at"] < TRANSFER_WINDOW_S
            ]
            code = 0 if follows else 40131
            if code == 0 and not resigned and len(recent) >= TRANSFERS_PER_WINDOW:
                code = 40128
            if code == 0:
                st.transfers.append(
                    {
                        "external_userid": ext,
                        "handover": handover,
                        "takeover": takeover,
                        "resigned": resigned,
                        "at": sim.now(),
                        "status": 2,
                    }
                )
            results.append({"external_userid": ext, "errcode": code})
        return answer(api, customer=results)

    def transfer_result(api: str, resigned: bool) -> Response:
        """The customer has 24 hours to refuse; then WeCom hands them over by itself."""
        body = request.get_json(force=True)
        found = []
        for rec in st.transfers:
            if (rec["handover"], rec["takeover"], rec["resigned"]) != (
                body.get("handover_userid"),
                body.get("takeover_userid"),
                resigned,
            ):
                continue
            if rec["status"] == 2 and rec["external_userid"] in sim.config.refuse_transfer:
                rec["status"] = 3
            elif rec["status"] == 2 and sim.now() - rec["at"] >= 86_400:
                rec["status"] = 1
                sim.hand_over(rec)
            found.append(
                {
                    "external_userid": rec["external_userid"],
                    "status": rec["status"],
                    "takeover_time": int(rec["at"] + 86_400) if rec["status"] == 1 else 0,
                }
            )
        return answer(api, customer=found, next_cursor="")

    for resigned, prefix in ((True, "externalcontact/resigned/"), (False, "externalcontact/")):
        wecom_api("POST", f"{prefix}transfer_customer")(
            functools.partial(transfer, resigned=resigned)
        )
        wecom_api("POST", f"{prefix}transfer_result")(
            functools.partial(transfer_result, resigned=resigned)
        )

    @wecom_api("POST", "externalcontact/groupchat/get")
    def groupchat_get(api: str) -> Response:
        chat_id = (request.get_json(force=True) or {}).get("chat_id", "")
        if chat_id in sim.config.broken_chats:
            return answer(api, -1)  # a chat WeCom keeps failing on: a poison message for siyu
        group = st.groups.get(chat_id)
        if group is None:
            return answer(api, 40050)
        if group.get("dismissed"):
            return answer(api, 49008)
        return answer(api, group_chat={k: v for k, v in group.items() if k != "dismissed"})

    @wecom_api("POST", "externalcontact/groupchat/add_join_way")
    def add_join_way(api: str) -> Response:
        body = request.get_json(force=True)
        chats = body.get("chat_id_list") or []
        if body.get("scene") not in (1, 2) or len(str(body.get("state", ""))) > 30:
            return answer(api, 40058)
        if not chats:
            return answer(api, 40058)
        if len(chats) > 5:
            return answer(api, 41091)  # at most 5 groups share one join way
        if any(c not in st.groups for c in chats):
            return answer(api, 40050)
        if len(st.join_ways) + len(st.contact_ways) >= simulator_content.WAYS_PER_CORP:
            return answer(api, 41045)  # shares the 联系我 quota (92229)
        config_id = sim.new_id("cfg")
        st.join_ways[config_id] = {
            **{k: body.get(k) for k in ("scene", "remark", "auto_create_room", "state")},
            "config_id": config_id,
            "chat_id_list": chats,
            "qr_code": f"https://wework.qpic.cn/wwpic/sim/{config_id}/0",
        }
        return answer(api, config_id=config_id)

    @wecom_api("POST", "externalcontact/groupchat/get_join_way")
    def get_join_way(api: str) -> Response:
        way = st.join_ways.get((request.get_json(force=True) or {}).get("config_id", ""))
        if way is None:
            return answer(api, 40058)
        return answer(api, join_way=way)

    simulator_content.register(app, sim, wecom_api, answer)
    simulator_login.register(app, sim, wecom_api, answer)

    # -- the simulator's own control surface ------------------------------------------------

    @app.get("/_sim/health")
    def health() -> Response:
        return jsonify({"ok": True})

    @app.post("/_sim/groups")
    def seed_group() -> Response:
        """Create a customer group as staff would in the client (no callback is sent);
        `members` fills it with that many customers who joined earlier."""
        body = request.get_json(force=True)
        with sim.lock:
            chat = sim.ensure_group(
                body.get("chat_id") or sim.new_id("wr"),
                body.get("name", ""),
                body.get("owner", "staff"),
            )
            for n in range(len(chat["member_list"]), int(body.get("members", 0))):
                chat["member_list"].append(
                    {"userid": f"wm_seed_{chat['chat_id']}_{n}", "type": 2, "join_scene": 3}
                )
            return jsonify(chat)

    @app.get("/_sim/calls")
    def calls() -> Response:
        with sim.lock:
            api = request.args.get("api")
            return jsonify([c for c in st.calls if not api or c["api"] == api])

    @app.get("/_sim/messages")
    def messages() -> Response:
        with sim.lock:
            touser = request.args.get("touser")
            return jsonify([m for m in st.messages if not touser or m["touser"] == touser])

    @app.post("/_sim/groupmsg/confirm")
    def confirm_groupmsg() -> Response:
        """Staff press send in the client: `msgid`, or every pending task of `userid`, on
        `day` (default today). Over the per-customer limit (mass_limit) a target fails
        with status 3."""
        body = request.get_json(force=True)
        with sim.lock:
            pending = [
                m
                for m in st.groupmsgs.values()
                if m["status"] == 0
                and not m.get("cancelled")  # a cancelled task cannot be sent (97611)
                and (m["msgid"] == body.get("msgid") or m["sender"] == body.get("userid"))
            ]
            now = int(time.time())
            # `day`: the day staff press send, for scenarios that play days forward.
            day = str(body.get("day") or time.strftime("%Y-%m-%d", time.localtime(now)))
            period, allowed = _mass_period(day, sim.config.mass_limit)
            for msg in pending:
                msg["status"], msg["send_time"] = 2, now
                for target in msg["targets"]:
                    got = st.mass_received.setdefault((period, target), [])
                    if msg["msgid"] not in got and len(got) < allowed:
                        got.append(msg["msgid"])
                    msg["results"][target] = 1 if msg["msgid"] in got else 3
            return jsonify({"confirmed": [m["msgid"] for m in pending]})

    @app.get("/_sim/groupmsgs")
    def groupmsgs() -> Response:
        with sim.lock:
            sender = request.args.get("sender")
            return jsonify(
                [m for m in st.groupmsgs.values() if not sender or m["sender"] == sender]
            )

    @app.get("/_sim/tags")
    def tags() -> Response:
        """The corp tag catalogue as the admin console shows it."""
        with sim.lock:
            return jsonify(
                [
                    {"id": t["id"], "name": t["name"], "group_id": g["group_id"]}
                    for g in st.tag_groups.values()
                    for t in g["tag"]
                ]
            )

    @app.get("/_sim/welcomes")
    def welcomes() -> Response:
        with sim.lock:
            return jsonify(st.welcomes_sent)

    @app.get("/_sim/contacts/<external_userid>")
    def contact(external_userid: str) -> Response | tuple[Response, int]:
        with sim.lock:
            found = st.contacts.get(external_userid)
            return jsonify(found) if found else (jsonify({"error": "unknown"}), 404)

    @app.post("/_sim/config")
    def configure() -> Response:
        body = request.get_json(force=True)
        with sim.lock:
            for key in (
                "fault_rate",
                "fault_codes",
                "token_ttl_s",
                "welcome_window_s",
                "rate_limit_per_min",
                "callback_url",
                "retry_pause_s",
                "fail_next",
                "refuse_transfer",
                "mass_limit",
                "welcome_busy_next",
                "invalid_users",
                "groupmsg_dispatch_s",
                "follow_page_size",
                "broken_chats",
                "resigned_members",
                "time_offset_s",
                "trusted_domains",
                "non_members",
            ):
                if key in body:
                    setattr(sim.config, key, body[key])
            if "seed" in body:
                sim.random.seed(body["seed"])  # repeatable fault sequences for tests
            sim.config.time_offset_s += float(body.get("advance_s", 0))
            if body.get("expire_tokens"):
                st.tokens = {t: 0.0 for t in st.tokens}
            return jsonify(
                {"fault_rate": sim.config.fault_rate, "token_ttl_s": sim.config.token_ttl_s}
            )

    @app.post("/_sim/reset")
    def reset() -> Response:
        with sim.lock:
            sim.state = SimState()
            nonlocal st
            st = sim.state
            return jsonify({"ok": True})

    @app.post("/_sim/emit")
    def emit() -> Response:
        """Body: the event's WeCom fields (Event, ChangeType, UserID, …) plus optional
        `deliveries` (send the same signed callback n times) and `forge_signature`."""
        body = dict(request.get_json(force=True))
        deliveries = int(body.pop("deliveries", 1))
        forge = bool(body.pop("forge_signature", False))
        with sim.lock:
            event = sim.prepare_event(body)
        # Deliver outside the lock: siyu calls back into the simulator while handling it.
        results = sim.deliver(event, deliveries=deliveries, forge_signature=forge)
        return jsonify({"event": event, "deliveries": results})

    return app


def _over_attachment_bytes(attachments: list[dict[str, Any]]) -> bool:
    return any(
        len(str((a.get(kind) or {}).get(name, "")).encode()) > limit
        for a in attachments
        for (kind, name), limit in ATTACHMENT_BYTES.items()
    )


def _mass_period(day: str, mass_limit: str) -> tuple[str, int]:
    """The period a 群发 limit counts in and how many it allows: by default as many a month
    as the month has days (92135); `day` allows one a day."""
    if mass_limit == "day":
        return day, 1
    year, month = int(day[:4]), int(day[5:7])
    return day[:7], calendar.monthrange(year, month)[1]


def _group_of(state: SimState, tag_id: str) -> str:
    return next(
        (
            g["group_name"]
            for g in state.tag_groups.values()
            if any(t["id"] == tag_id for t in g["tag"])
        ),
        "",
    )


def from_settings(settings: Settings, callback_url: str) -> WeComSimulator:
    return WeComSimulator(
        SimConfig(
            corp_id=settings.wecom_corp_id,
            secret=settings.secret("wecom_secret"),
            token=settings.secret("wecom_token"),
            aes_key=settings.secret("wecom_aes_key"),
            callback_url=callback_url,
            agent_secret=settings.secret("wecom_agent_secret"),
            agent_id=settings.wecom_agent_id,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="WeCom simulator for the local stack")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--callback-url", required=True)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    sim = from_settings(Settings(), args.callback_url)
    sim.config.fault_rate = args.fault_rate
    from werkzeug.serving import make_server

    make_server("127.0.0.1", args.port, create_app(sim), threaded=True).serve_forever()


if __name__ == "__main__":
    main()
