"""WeCom server API client: token cache per app, retries with backoff, structured errors."""

from __future__ import annotations

import collections
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from siyu.domain.content import MAX_ATTACHMENTS
from siyu.domain.errors import InvalidInput, TransientError, UpstreamError
from siyu.domain.group_codes import MAX_CHATS as MAX_JOIN_CHATS
from siyu.domain.group_welcome import MAX_TEMPLATE_BYTES
from siyu.domain.media import UploadedMedia
from siyu.domain.tags import MAX_NAME_CHARS, CorpTag
from siyu.domain.wecom import (
    AppMessageResult,
    ContactWay,
    ContactWayLimit,
    ExternalContact,
    GroupChat,
    GroupDismissed,
    GroupMsgSend,
    GroupMsgTask,
    GroupUnreadable,
    JoinWay,
    LoginIdentity,
    NoValidRecipient,
    ReminderLimit,
    TemplateLimit,
    TransferResult,
    WelcomeOutcome,
)
from siyu.logging import log

logger = logging.getLogger(__name__)

# Error codes from 90313. Retryable: system busy, frequency limit, too many concurrent calls,
# and 41063 (the 群发 task is still being created: get_groupmsg_task asks again shortly).
RETRYABLE = frozenset({-1, 45009, 45033, 41063})
TOKEN_INVALID = frozenset({42001, 40014})  # expired (possibly early) or invalid access_token
# send_welcome_msg (92137): 41050 invalid/expired/used code, 41051 already delivered,
# 41096 another app is sending it now (not delivered yet: the caller may retry).
WELCOME_CODES = {
    41050: WelcomeOutcome.EXPIRED,
    41051: WelcomeOutcome.SENT,
    41096: WelcomeOutcome.BUSY,
}
NO_VALID_RECIPIENT = 81013  # message/send: every recipient invalid (90236)
REMIND_LIMIT = 41094  # remind_groupmsg_send over its limit
CONTACT_WAY_LIMIT = 41045  # add_contact_way: the API-made ways are used up (90313)
UNKNOWN_CONFIG = 41044  # an invalid 联系我 config_id (90313)
TEMPLATE_LIMIT = 41055  # group welcome templates at WeCom's limit (90313)
TASK_CANCELLED = 41093  # the 群发 task was cancelled already (90313)
MAX_WELCOME_BYTES = 4_000  # text.content (92137)
_MAX_PAGES = 1_000  # a cursor that never ends is WeCom's bug, not a reason to loop forever
_TOKEN_MARGIN_S = 300  # refresh this long before WeCom's stated expiry


class WeComError(UpstreamError):
    """A non-zero errcode; carries the API path but never the token or secret."""

    def __init__(self, api: str, errcode: int, errmsg: str) -> None:
        super().__init__(f"{api}: errcode {errcode} {errmsg}", errcode)
        self.api = api
        self.errcode = errcode
        self.errmsg = errmsg


class RetryableWeComError(WeComError, TransientError):
    """Busy, rate-limited, unreachable: worth another try after a pause."""


class NoValidRecipientError(WeComError, NoValidRecipient):
    pass


class ReminderLimitError(WeComError, ReminderLimit):
    pass


class GroupDismissedError(WeComError, GroupDismissed):
    pass


class GroupUnreadableError(WeComError, GroupUnreadable):
    pass


class TemplateLimitError(WeComError, TemplateLimit):
    pass


class ContactWayLimitError(WeComError, ContactWayLimit):
    pass


_GROUP_ERRORS: dict[int, type[WeComError]] = {
    49008: GroupDismissedError,
    40050: GroupUnreadableError,
    90501: GroupUnreadableError,
}


class _TokenExpired(Exception):
    pass


class RateLimiter:
    """A token bucket per instance: `per_min` calls a minute, short bursts allowed."""

    def __init__(self, per_min: int, max_wait_s: float = 5.0) -> None:
        self._rate = per_min / 60.0
        self._capacity = max(1.0, per_min / 6.0)  # up to 10 s worth at once
        self._tokens = self._capacity
        self._stamp = time.monotonic()
        self._max_wait = max_wait_s
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for a token; TransientError if that would take longer than max_wait_s."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate
            if wait > self._max_wait:
                raise TransientError("local WeCom rate limit reached; retry later")
            self._tokens -= 1
        if wait:
            time.sleep(wait)


class PerMemberLimit:
    """WeCom silently drops app messages beyond 30 a minute to one member: refuse them here,
    as a TransientError, so the caller retries later instead of losing the message."""

    def __init__(self, per_min: int = 30) -> None:
        self._per_min = per_min
        self._sent: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, member: str) -> None:
        with self._lock:
            now = time.monotonic()
            recent = self._sent.setdefault(member, collections.deque())
            while recent and now - recent[0] >= 60:
                recent.popleft()
            if len(recent) >= self._per_min:
                raise TransientError(f"{self._per_min} app messages a minute to {member} reached")
            recent.append(now)


class WeComClient:
    def __init__(
        self,
        base_url: str,
        corp_id: str,
        secret: str,
        timeout_s: float = 3.0,
        max_attempts: int = 4,
        http: httpx.Client | None = None,
        agent_id: int | None = None,
        mark_tag_per_min: int = 2_000,
    ) -> None:
        self._agent_id = agent_id
        self._mark_tag_limit = RateLimiter(mark_tag_per_min)
        self._message_limit = PerMemberLimit()
        self._base = base_url.rstrip("/")
        self._corp_id = corp_id
        self._secret = secret
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._http = http or httpx.Client(timeout=timeout_s)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires = 0.0

    # -- token ------------------------------------------------------------------------

    def _access_token(self, deadline: float | None) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            body = self._send(
                "GET",
                "gettoken",
                deadline,
                params={"corpid": self._corp_id, "corpsecret": self._secret},
            )
            self._check("gettoken", body)
            self._token = str(body["access_token"])
            ttl = int(body.get("expires_in", 7200))
            self._token_expires = time.monotonic() + max(ttl - _TOKEN_MARGIN_S, ttl / 2)
            return self._token

    def _drop_token(self, stale: str) -> None:
        with self._lock:
            if self._token == stale:
                self._token = None

    # -- transport ----------------------------------------------------------------------

    def _send(self, method: str, api: str, deadline: float | None, **kwargs: Any) -> dict[str, Any]:
        timeout = self._timeout_s
        if deadline is not None:
            timeout = min(timeout, deadline - time.monotonic())
            if timeout <= 0:
                raise RetryableWeComError(api, -1, "local deadline reached")
        try:
            response = self._http.request(method, f"{self._base}/{api}", timeout=timeout, **kwargs)
            response.raise_for_status()
            body = response.json()
        except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
            raise RetryableWeComError(api, -1, f"transport: {type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise RetryableWeComError(api, -1, "answer is not a JSON object")
        return body

    @staticmethod
    def _check(api: str, body: dict[str, Any]) -> None:
        code = int(body.get("errcode", 0))
        if code == 0:
            return
        message = str(body.get("errmsg", ""))[:200]
        if code in TOKEN_INVALID:
            raise _TokenExpired()
        if code in RETRYABLE:
            raise RetryableWeComError(api, code, message)
        raise WeComError(api, code, message)

    def call(
        self,
        api: str,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        deadline: float | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, Any]:
        """Call one API; retry busy/limit codes with jittered backoff until the deadline.
        `files` posts multipart/form-data (media/upload) instead of JSON."""
        payload: dict[str, Any] = {"files": files} if files is not None else {"json": json}

        def attempt() -> dict[str, Any]:
            token = self._access_token(deadline)
            query = {"access_token": token, **(params or {})}
            method = "POST" if json is not None or files is not None else "GET"
            body = self._send(method, api, deadline, params=query, **payload)
            try:
                self._check(api, body)
            except _TokenExpired:
                # WeCom may expire a token early: fetch a new one and try once more.
                self._drop_token(token)
                query["access_token"] = self._access_token(deadline)
                body = self._send(method, api, deadline, params=query, **payload)
                try:
                    self._check(api, body)
                except _TokenExpired as exc:
                    raise RetryableWeComError(api, 42001, "token rejected twice") from exc
            return body

        def out_of_time(state: RetryCallState) -> bool:
            if stop_after_attempt(self._max_attempts)(state):
                return True
            return deadline is not None and time.monotonic() >= deadline

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log(
                logger,
                logging.WARNING,
                "wecom retry",
                api=api,
                attempt=state.attempt_number,
                error=str(exc),
            )

        retrying = Retrying(
            retry=retry_if_exception_type(RetryableWeComError),
            stop=out_of_time,
            wait=wait_exponential_jitter(multiplier=0.05, max=2.0, jitter=0.05),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)

    # -- the APIs siyu uses -------------------------------------------------------------

    def get_external_contact(self, external_userid: str) -> ExternalContact:
        """92114: beyond 500 followers WeCom pages them with `next_cursor`; join every page."""
        followers: list[dict[str, Any]] = []
        cursor, body = "", {}
        for _ in range(_MAX_PAGES):
            params = {"external_userid": external_userid}
            if cursor:
                params["cursor"] = cursor
            body = self.call("externalcontact/get", params=params)
            followers += body.get("follow_user") or []
            cursor = str(body.get("next_cursor") or "")
            if not cursor:
                break
        return ExternalContact.model_validate({**body, "follow_user": followers})

    def send_welcome_msg(
        self,
        welcome_code: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> WelcomeOutcome:
        """92137: one call per WelcomeCode, text and ≤ 9 attachments; 41051 means it was
        delivered already."""
        if len(text.encode()) > MAX_WELCOME_BYTES:
            raise InvalidInput("text.content", f"over {MAX_WELCOME_BYTES} bytes in UTF-8")
        if len(attachments or []) > MAX_ATTACHMENTS:
            raise InvalidInput("attachments", f"at most {MAX_ATTACHMENTS}")
        body: dict[str, Any] = {"welcome_code": welcome_code, "text": {"content": text}}
        if attachments:
            body["attachments"] = attachments
        try:
            self.call("externalcontact/send_welcome_msg", deadline=deadline, json=body)
        except WeComError as exc:
            outcome = WELCOME_CODES.get(exc.errcode)
            if outcome is None:
                raise
            return outcome
        return WelcomeOutcome.SENT

    def mark_tag(
        self, userid: str, external_userid: str, add: list[str], remove: list[str] | None = None
    ) -> None:
        self._mark_tag_limit.acquire()
        self.call(
            "externalcontact/mark_tag",
            json={
                "userid": userid,
                "external_userid": external_userid,
                "add_tag": add,
                "remove_tag": remove or [],
            },
        )

    def get_corp_tag_list(
        self, tag_ids: list[str] | None = None, group_ids: list[str] | None = None
    ) -> list[CorpTag]:
        """92117: `tag_id` and `group_id` filter separately (a group id brings all its tags)."""
        body = self.call(
            "externalcontact/get_corp_tag_list",
            json={"tag_id": tag_ids or [], "group_id": group_ids or []},
        )
        return _corp_tags(body.get("tag_group", []))

    def add_corp_tag(self, group_name: str, names: list[str]) -> list[CorpTag]:
        for field, value in [("group_name", group_name), *(("tag.name", n) for n in names)]:
            if len(value) > MAX_NAME_CHARS:
                raise InvalidInput(field, f"over {MAX_NAME_CHARS} characters")
        body = self.call(
            "externalcontact/add_corp_tag",
            json={
                "group_name": group_name,
                "tag": [{"name": n} for n in names],
            },
        )
        group = body.get("tag_group")
        return _corp_tags([group] if group else [])

    def get_group_chat(self, chat_id: str) -> GroupChat:
        """92122; 49008 raises GroupDismissed, 40050 and 90501 GroupUnreadable (90313)."""
        body = self._group_call(
            "externalcontact/groupchat/get", {"chat_id": chat_id, "need_name": 1}
        )
        return GroupChat.model_validate(body.get("group_chat") or {"chat_id": chat_id})

    def _group_call(self, api: str, json: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.call(api, json=json)
        except WeComError as exc:
            typed = _GROUP_ERRORS.get(exc.errcode)
            if typed is None:
                raise
            raise typed(exc.api, exc.errcode, exc.errmsg) from exc

    def send_text(self, touser: str, text: str) -> AppMessageResult:
        """An application message (应用消息, 90236) from the self-built app this client holds.

        A successful answer still lists members it could not reach; 81013 (every recipient
        invalid) raises NoValidRecipient.
        """
        if self._agent_id is None:
            raise ValueError("this WeCom client has no agent id: it cannot send app messages")
        self._message_limit.acquire(touser)
        try:
            body = self.call(
                "message/send",
                json={
                    "touser": touser,
                    "msgtype": "text",
                    "agentid": self._agent_id,
                    "text": {"content": text},
                },
            )
        except WeComError as exc:
            if exc.errcode == NO_VALID_RECIPIENT:
                raise NoValidRecipientError(exc.api, exc.errcode, exc.errmsg) from exc
            raise
        return AppMessageResult(
            invalid_users=_split(body.get("invaliduser")),
            unlicensed_users=_split(body.get("unlicenseduser")),
        )

    def add_msg_template(
        self,
        chat_type: str,
        sender: str,
        targets: list[str],
        text: str,
        attachments: list[dict[str, Any]],
    ) -> tuple[str, list[str]]:
        """One 群发 task for `sender` to confirm; customers by external_userid, groups by
        chat_id_list (the group owner sends)."""
        body: dict[str, Any] = {
            "chat_type": chat_type,
            "sender": sender,
            "text": {"content": text},
            "attachments": attachments,
        }
        body["external_userid" if chat_type == "single" else "chat_id_list"] = targets
        answer = self.call("externalcontact/add_msg_template", json=body)
        return str(answer["msgid"]), [str(f) for f in answer.get("fail_list", [])]

    def get_groupmsg_task(self, msgid: str) -> list[GroupMsgTask]:
        pages = self._pages("externalcontact/get_groupmsg_task", {"msgid": msgid}, "task_list")
        return [GroupMsgTask.model_validate(t) for t in pages]

    def get_groupmsg_send_result(self, msgid: str, userid: str) -> list[GroupMsgSend]:
        pages = self._pages(
            "externalcontact/get_groupmsg_send_result",
            {"msgid": msgid, "userid": userid},
            "send_list",
        )
        return [GroupMsgSend.model_validate(r) for r in pages]

    def remind_groupmsg_send(self, msgid: str) -> None:
        """97610: over the reminder limit is 41094, final for today: ReminderLimit."""
        try:
            self.call("externalcontact/remind_groupmsg_send", json={"msgid": msgid})
        except WeComError as exc:
            if exc.errcode == REMIND_LIMIT:
                raise ReminderLimitError(exc.api, exc.errcode, exc.errmsg) from exc
            raise

    def _pages(
        self, api: str, body: dict[str, Any], key: str, limit: int | None = 1000
    ) -> list[dict[str, Any]]:
        """Follow `next_cursor` until WeCom has given everything."""
        found: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(_MAX_PAGES):
            page = {**body, "cursor": cursor}
            if limit is not None:
                page["limit"] = limit
            answer = self.call(api, json=page)
            found += list(answer.get(key) or [])
            cursor = str(answer.get("next_cursor") or "")
            if not cursor:
                break
        return found

    def transfer_customer(
        self, resigned: bool, handover: str, takeover: str, external_userids: list[str]
    ) -> dict[str, int]:
        """One call for ≤ 100 customers; WeCom's errcode per customer (0: accepted)."""
        api = (
            "externalcontact/resigned/transfer_customer"
            if resigned
            else ("externalcontact/transfer_customer")
        )
        answer = self.call(
            api,
            json={
                "handover_userid": handover,
                "takeover_userid": takeover,
                "external_userid": external_userids,
            },
        )
        return {
            str(c["external_userid"]): int(c.get("errcode", 0)) for c in answer.get("customer", [])
        }

    def transfer_result(self, resigned: bool, handover: str, takeover: str) -> list[TransferResult]:
        """94088: handover, takeover and cursor are the only documented request fields."""
        api = (
            "externalcontact/resigned/transfer_result"
            if resigned
            else ("externalcontact/transfer_result")
        )
        pages = self._pages(
            api, {"handover_userid": handover, "takeover_userid": takeover}, "customer", limit=None
        )
        return [TransferResult.model_validate(c) for c in pages]

    def add_join_way(self, chat_ids: list[str], state: str, remark: str) -> str:
        """92229: a group QR code for ≤ 5 chats; a chat WeCom does not know (40050) raises
        GroupUnreadable."""
        body = self._group_call(
            "externalcontact/groupchat/add_join_way", _join_way(chat_ids, state, remark)
        )
        return str(body["config_id"])

    def update_join_way(self, config_id: str, chat_ids: list[str], state: str, remark: str) -> None:
        """92229: the way is overwritten whole (every field is sent again)."""
        self._group_call(
            "externalcontact/groupchat/update_join_way",
            {"config_id": config_id, **_join_way(chat_ids, state, remark)},
        )

    def get_join_way(self, config_id: str) -> JoinWay:
        body = self.call("externalcontact/groupchat/get_join_way", json={"config_id": config_id})
        return JoinWay.model_validate(body.get("join_way") or {"config_id": config_id})

    # -- 联系我 (92228) ------------------------------------------------------------------

    def add_contact_way(self, way: ContactWay) -> tuple[str, str]:
        """A 联系我 QR code; (config_id, qr_code). 41045: the corp's quota is used up."""
        try:
            body = self.call(
                "externalcontact/add_contact_way", json={"scene": 2, **_contact_way(way)}
            )
        except WeComError as exc:
            if exc.errcode == CONTACT_WAY_LIMIT:
                raise ContactWayLimitError(exc.api, exc.errcode, exc.errmsg) from exc
            raise
        return str(body["config_id"]), str(body.get("qr_code", ""))

    def update_contact_way(self, config_id: str, way: ContactWay) -> None:
        """The type (single or multi) cannot change; the member list is replaced."""
        body = {"config_id": config_id, **_contact_way(way)}
        body.pop("type")
        self.call("externalcontact/update_contact_way", json=body)

    def del_contact_way(self, config_id: str) -> bool:
        """False when WeCom knows no such way (41044): gone already."""
        try:
            self.call("externalcontact/del_contact_way", json={"config_id": config_id})
        except WeComError as exc:
            if exc.errcode == UNKNOWN_CONFIG:
                return False
            raise
        return True

    # -- media (90253) and group welcome templates (92366) -------------------------------

    def upload_media(
        self, kind: str, filename: str, data: bytes, content_type: str
    ) -> UploadedMedia:
        """Temporary media: the media_id is valid for three days from `created_at`."""
        body = self.call(
            "media/upload", params={"type": kind}, files={"media": (filename, data, content_type)}
        )
        return UploadedMedia(
            media_id=str(body["media_id"]),
            created_at=datetime.fromtimestamp(int(body["created_at"]), UTC),
        )

    def add_group_welcome_template(self, text: str, attachment: dict[str, Any] | None) -> str:
        try:
            body = self.call(
                "externalcontact/group_welcome_template/add",
                json={**_template(text, attachment), "notify": 0},
            )
        except WeComError as exc:
            if exc.errcode == TEMPLATE_LIMIT:
                raise TemplateLimitError(exc.api, exc.errcode, exc.errmsg) from exc
            raise
        return str(body["template_id"])

    def edit_group_welcome_template(
        self, template_id: str, text: str, attachment: dict[str, Any] | None
    ) -> None:
        self.call(
            "externalcontact/group_welcome_template/edit",
            json={"template_id": template_id, **_template(text, attachment)},
        )

    # -- pulling back a 群发 (97611) and handing groups over (92127, 95703) ---------------

    def cancel_groupmsg_send(self, msgid: str) -> None:
        """Stops what staff have not sent; 41093 (cancelled already) is the same outcome."""
        try:
            self.call("externalcontact/cancel_groupmsg_send", json={"msgid": msgid})
        except WeComError as exc:
            if exc.errcode != TASK_CANCELLED:
                raise

    def transfer_group_chats(
        self, resigned: bool, chat_ids: list[str], new_owner: str
    ) -> dict[str, int]:
        """≤ 100 chats a call; the errcode of each chat WeCom did not hand over."""
        api = "groupchat/transfer" if resigned else "groupchat/onjob_transfer"
        body = self.call(
            f"externalcontact/{api}", json={"chat_id_list": chat_ids, "new_owner": new_owner}
        )
        return {
            str(f["chat_id"]): int(f.get("errcode", -1)) for f in body.get("failed_chat_list") or []
        }

    # -- web login for internal members (98152, 98176) ---------------------------------

    def login_identity(self, code: str) -> LoginIdentity:
        """Who signed in: the code is single-use and lives 5 minutes (40029 otherwise)."""
        return LoginIdentity.model_validate(self.call("auth/getuserinfo", params={"code": code}))


def _join_way(chat_ids: list[str], state: str, remark: str) -> dict[str, Any]:
    if not 1 <= len(chat_ids) <= MAX_JOIN_CHATS:
        raise InvalidInput("chat_id_list", f"1 to {MAX_JOIN_CHATS} chats (92229)")
    return {
        "scene": 2,  # a QR code (1 would be the mini-program button)
        "chat_id_list": chat_ids,
        "state": state,
        "remark": remark[:30],
        "auto_create_room": 0,  # a full group is replaced by siyu with one that has room
    }


def _contact_way(way: ContactWay) -> dict[str, Any]:
    return {
        "type": way.type,
        "state": way.state,
        "user": way.users,
        "skip_verify": way.skip_verify,
        "remark": way.remark,
    }


def _template(text: str, attachment: dict[str, Any] | None) -> dict[str, Any]:
    """92366: text ≤ 3,000 bytes and at most one other part (image, link, miniprogram, …)."""
    if len(text.encode()) > MAX_TEMPLATE_BYTES:
        raise InvalidInput("text.content", f"over {MAX_TEMPLATE_BYTES} bytes in UTF-8")
    body: dict[str, Any] = {"text": {"content": text}}
    if attachment:
        body[attachment["msgtype"]] = attachment[attachment["msgtype"]]
    return body


def _split(value: object) -> tuple[str, ...]:
    """90236 lists unreached members as 'a|b' (lower-cased)."""
    return tuple(v for v in str(value or "").split("|") if v)


def _corp_tags(groups: list[dict[str, Any]]) -> list[CorpTag]:
    return [
        CorpTag(
            id=t["id"],
            name=t.get("name", ""),
            group_id=g.get("group_id", ""),
            group_name=g.get("group_name", ""),
            deleted=bool(t.get("deleted", False)),
        )
        for g in groups
        for t in g.get("tag", [])
    ]
