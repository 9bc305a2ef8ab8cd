"""The WeCom callbacks siyu acts on, and those it only acknowledges (doc 92130, 92005).

The customer-contact callback URL is the app's API接收消息 URL (92129), so it also
receives the app's own messages and events (90238–90240, 90970, 97299): those parse as
`Acknowledged` and change nothing.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import ConfigDict, Field

from siyu.domain.model import Model


class EventKind(StrEnum):
    CONTACT = "change_external_contact"
    CHAT = "change_external_chat"
    TAG = "change_external_tag"


class ContactChange(StrEnum):
    ADD = "add_external_contact"
    ADD_HALF = "add_half_external_contact"  # added without the member's verification
    EDIT = "edit_external_contact"  # remark, mobile or corp tags
    DELETE = "del_external_contact"  # the member deleted the customer
    LOST = "del_follow_user"  # the customer deleted the member (流失)
    TRANSFER_FAIL = "transfer_fail"  # UserID is the member whose takeover failed
    MSG_AUDIT_APPROVED = "msg_audit_approved"  # consent to chat archiving (92005)


class ChatChange(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DISMISS = "dismiss"


class ChatDetail(StrEnum):
    ADD_MEMBER = "add_member"
    DEL_MEMBER = "del_member"
    CHANGE_OWNER = "change_owner"
    CHANGE_NAME = "change_name"
    CHANGE_NOTICE = "change_notice"


class TagChange(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    SHUFFLE = "shuffle"


class TagType(StrEnum):
    TAG = "tag"
    TAG_GROUP = "tag_group"


class WelcomeState(StrEnum):
    """Who still owes the welcome message for an add event."""

    NONE = "none"  # no WelcomeCode: the console or an earlier chat already greeted
    SENT = "sent"  # the callback's fast path sent it
    PENDING = "pending"  # the worker must send it while the 20-s window is open


# Handlers that read WeCom's current state instead of applying the callback's delta: a
# second copy of such a callback changes nothing, and two real changes can arrive as
# byte-identical callbacks (same member, customer and second), so none may be dropped.
_REREADS = frozenset(
    {
        (EventKind.CONTACT, ContactChange.EDIT),
        (EventKind.TAG, TagChange.CREATE),
        (EventKind.TAG, TagChange.UPDATE),
        (EventKind.TAG, TagChange.SHUFFLE),
        (EventKind.CHAT, ChatChange.CREATE),
    }
)
_MEMBER_DETAILS = frozenset({ChatDetail.ADD_MEMBER, ChatDetail.DEL_MEMBER})


class WeComEvent(Model):
    """One change_external_* callback, with WeCom's field names mapped to snake case."""

    model_config = ConfigDict(frozen=True)

    event: EventKind
    change_type: str  # one of the enum of `event`; unknown values are acknowledged
    create_time: int
    corp_id: str = ""
    user_id: str = ""
    external_user_id: str = ""
    chat_id: str = ""
    state: str = ""
    welcome_code: str = ""
    source: str = ""
    fail_reason: str = ""
    update_detail: str = ""
    join_scene: int | None = None
    quit_scene: int | None = None
    mem_change_cnt: int | None = None
    mem_change_list: tuple[str, ...] = ()  # who joined or left (newer callbacks carry it)
    last_mem_ver: str = ""  # member version before and after this change (92130)
    cur_mem_ver: str = ""
    tag_id: str = ""
    tag_type: str = ""
    strategy_id: str = ""
    raw_sha256: str = Field(description="sha256 of the decrypted inner XML")
    delivery: str = Field("", description="what tells two POSTs apart: sha256 of their query")
    welcome: WelcomeState = WelcomeState.NONE

    @property
    def greets(self) -> bool:
        """An add carrying a WelcomeCode: its welcome must go out within 20 s (92137)."""
        adds = (ContactChange.ADD, ContactChange.ADD_HALF)
        added = self.event is EventKind.CONTACT and self.change_type in adds
        return added and bool(self.welcome_code)

    @property
    def rereads(self) -> bool:
        """True when the handler reads WeCom's state rather than applying a delta."""
        if (self.event, self.change_type) in _REREADS:
            return True
        return (
            self.event is EventKind.CHAT
            and self.change_type == ChatChange.UPDATE
            and self.update_detail not in _MEMBER_DETAILS
        )

    @property
    def dedupe_key(self) -> str:
        """ChangeType + UserID + ExternalUserID|ChatId|Id + CreateTime + sha256(inner XML);
        for re-reading handlers also the delivery, so identical real changes both count."""
        subject = self.external_user_id or self.chat_id or self.tag_id
        parts = [self.change_type, self.user_id, subject, str(self.create_time), self.raw_sha256]
        if self.rereads:
            parts.append(self.delivery)
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    @property
    def ordering_key(self) -> str:
        """Events about one customer (or one group, or the tag catalogue) stay in order."""
        if self.external_user_id:
            return f"customer:{self.external_user_id}"
        if self.chat_id:
            return f"chat:{self.chat_id}"
        return f"{self.event}"


class Acknowledged(Model):
    """A signed callback siyu does not act on: an app message or event, or a kind it
    does not know. It is answered 200, logged once and changes nothing."""

    model_config = ConfigDict(frozen=True)

    msg_type: str = ""
    event: str = ""
    change_type: str = ""
    reason: str = "not a customer-contact event"

    @property
    def kind(self) -> str:
        return "/".join(p for p in (self.msg_type, self.event, self.change_type) if p)
