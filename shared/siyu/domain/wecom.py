"""WeCom's API answers as typed models: only the documented fields siyu reads.

Each model names the page that defines it (developer.work.weixin.qq.com/document/path/<id>).
Unknown fields are ignored, so WeCom may add fields without breaking siyu.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from pydantic import ConfigDict, Field

from siyu.domain.errors import UpstreamError
from siyu.domain.model import Model


class NoValidRecipient(UpstreamError):
    """message/send 81013: no recipient is valid (the member left or is out of the app's scope)."""


class GroupDismissed(UpstreamError):
    """groupchat/get 49008: the group was dismissed."""


class GroupUnreadable(UpstreamError):
    """groupchat/get 40050 or 90501: not a customer group siyu may read; retrying won't help."""


class TemplateLimit(UpstreamError):
    """group_welcome_template/add 41055: the corp holds as many templates as WeCom allows."""


class ContactWayLimit(UpstreamError):
    """add_contact_way 41045: the corp's 500,000 API-made 联系我 / 加入群聊 ways are used up."""


class ReminderLimit(UpstreamError):
    """remind_groupmsg_send 41094: over the reminder limit; asking again now is pointless."""


class _Answer(Model):
    model_config = ConfigDict(extra="ignore", frozen=True)


# -- externalcontact/get (92114) ----------------------------------------------------------


class TagKind(IntEnum):
    """follow_user.tags.type: 1 corp tag, 2 the member's own tag, 3 rule-group tag."""

    CORP = 1
    PERSONAL = 2
    STRATEGY = 3


class FollowTag(_Answer):
    group_name: str = ""
    tag_name: str = ""
    tag_id: str = ""  # absent for personal tags (type 2)
    type: int = TagKind.CORP


class FollowUser(_Answer):
    userid: str
    remark: str = ""
    createtime: int = 0
    state: str = ""
    tags: list[FollowTag] = Field(default_factory=list)

    def corp_tags(self) -> list[FollowTag]:
        return [t for t in self.tags if t.type == TagKind.CORP and t.tag_id]


class ContactProfile(_Answer):
    external_userid: str
    name: str = ""
    type: int = 1  # 1 WeChat user, 2 WeCom user
    unionid: str = ""


class ExternalContact(_Answer):
    """One customer with every follower, all pages of `next_cursor` joined."""

    external_contact: ContactProfile
    follow_user: list[FollowUser] = Field(default_factory=list)

    def follower(self, userid: str) -> FollowUser | None:
        return next((f for f in self.follow_user if f.userid == userid), None)


# -- externalcontact/groupchat/get (92122) ------------------------------------------------


class MemberKind(IntEnum):
    STAFF = 1
    EXTERNAL = 2


class GroupMember(_Answer):
    userid: str
    type: int
    unionid: str = ""
    join_time: int = 0
    join_scene: int = 0


class GroupChat(_Answer):
    chat_id: str
    name: str = ""
    owner: str = ""
    create_time: int = 0
    member_list: list[GroupMember] = Field(default_factory=list)
    member_version: str = ""

    def external_members(self) -> list[GroupMember]:
        return [m for m in self.member_list if m.type == MemberKind.EXTERNAL]


# -- externalcontact/add_contact_way (92228) ----------------------------------------------


class ContactWay(Model):
    """A 联系我 QR code (scene 2): type 1 for one member, 2 for several (≤ 100)."""

    state: str = Field(max_length=30)
    users: list[str] = Field(min_length=1, max_length=100)
    skip_verify: bool = True
    remark: str = Field("", max_length=30)

    @property
    def type(self) -> int:
        return 1 if len(self.users) == 1 else 2


# -- externalcontact/groupchat/get_join_way (92229) ---------------------------------------


class JoinWay(_Answer):
    config_id: str
    qr_code: str = ""
    chat_id_list: list[str] = Field(default_factory=list)
    state: str = ""


# -- 群发 results (93338) ------------------------------------------------------------------


class TaskStatus(IntEnum):
    """get_groupmsg_task: 0 not sent, 2 sent."""

    NOT_SENT = 0
    SENT = 2


class GroupMsgTask(_Answer):
    userid: str
    status: int = TaskStatus.NOT_SENT
    send_time: int = 0

    @property
    def sent(self) -> bool:
        return self.status == TaskStatus.SENT


class SendStatus(IntEnum):
    """get_groupmsg_send_result: 0 not sent, 1 sent, 2 not a contact, 3 over the limit."""

    NOT_SENT = 0
    SENT = 1
    NOT_A_CONTACT = 2
    LIMIT_REACHED = 3


class GroupMsgSend(_Answer):
    userid: str = ""
    external_userid: str = ""
    chat_id: str = ""
    status: int = SendStatus.NOT_SENT
    send_time: int = 0

    @property
    def delivered(self) -> bool:
        return self.status == SendStatus.SENT


# -- transfers (92125 transfer_customer, 94088 transfer_result) -----------------------------


class TransferState(IntEnum):
    """transfer_result: 1 done, 2 waiting, 3 refused, 4 takeover at its limit, 5 no record."""

    DONE = 1
    WAITING = 2
    REFUSED = 3
    LIMIT = 4
    NO_RECORD = 5


class TransferResult(_Answer):
    external_userid: str
    status: int = TransferState.WAITING
    takeover_time: int = 0


# -- message/send (90236) -------------------------------------------------------------------


class AppMessageResult(_Answer):
    """A successful send still names the recipients it could not reach."""

    invalid_users: tuple[str, ...] = ()
    unlicensed_users: tuple[str, ...] = ()

    @property
    def unreached(self) -> tuple[str, ...]:
        return self.invalid_users + self.unlicensed_users


# -- send_welcome_msg (92137, 90313) --------------------------------------------------------


class WelcomeOutcome(StrEnum):
    """What a send_welcome_msg call means for the welcome."""

    SENT = "sent"  # 0, or 41051: the welcome reached the customer
    EXPIRED = "expired"  # 41050: the code is invalid, expired or was used
    BUSY = "busy"  # 41096: another app is sending it now; not delivered yet


class LoginIdentity(_Answer):
    """auth/getuserinfo (98176): a member's `userid`, or for someone outside the corp an
    `openid` (and `external_userid` when they are a customer)."""

    userid: str = ""
    openid: str = ""
    external_userid: str = ""
