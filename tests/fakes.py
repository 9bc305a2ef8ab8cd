"""In-memory fakes of the ports, answering as WeCom and Firestore do, and `fake_root()`: the
production wiring (siyu.bootstrap) standing on them, for unit and function-tier tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from siyu import bootstrap as siyu_bootstrap
from siyu.bootstrap import AccessStores, Root, Stores, bootstrap
from siyu.config import Settings
from siyu.domain.access import Branch, Grant, Staff
from siyu.domain.audit import AuditEntry, AuditQuery
from siyu.domain.backfills import Backfill, BackfillStatus
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.calendar import OfficialYear
from siyu.domain.campaigns import (
    BatchRecord,
    Campaign,
    CampaignRun,
    CustomerAudience,
    GroupAudience,
    Target,
)
from siyu.domain.channels import Channel
from siyu.domain.customers import Customer
from siyu.domain.errors import Conflict, TransientError, UpstreamError
from siyu.domain.events import WeComEvent
from siyu.domain.followups import CLOSED, Followup, FollowupReason, FollowupStatus
from siyu.domain.funnel import Dimension, MilestoneRecord, Tally, merged, tallies_of, tally_id
from siyu.domain.group_codes import GroupCode
from siyu.domain.group_directory import Manifest
from siyu.domain.groups import Group
from siyu.domain.health import TickSeen
from siyu.domain.idempotency import CallStatus, IdempotentCall
from siyu.domain.inbox import InboxEntry, InboxStatus
from siyu.domain.media import MediaAsset, UploadedMedia
from siyu.domain.ops_tasks import OpsTask
from siyu.domain.personal_data import Found, Locate, Receipt
from siyu.domain.referrals import Invite, InviteAttempt, InviteStatus, Reward
from siyu.domain.sessions import Session
from siyu.domain.tag_rules import TagRule
from siyu.domain.tags import CorpTag
from siyu.domain.transfers import Transfer
from siyu.domain.wecom import (
    AppMessageResult,
    ContactWay,
    ExternalContact,
    GroupChat,
    GroupMsgSend,
    GroupMsgTask,
    GroupUnreadable,
    JoinWay,
    LoginIdentity,
    NoValidRecipient,
    TemplateLimit,
    TransferResult,
    WelcomeOutcome,
)
from siyu.domain.welcome import WelcomeClaim, WelcomeStatus, may_claim


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        self.mono += seconds


class FakeInbox:
    """The callback inbox; `down` makes every call fail as an unreachable Firestore would."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.docs: dict[str, InboxEntry] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise TransientError("firestore: ServiceUnavailable")

    def claim(self, key: str, event: WeComEvent) -> bool:
        self._check()
        if key in self.docs:
            return False
        self.docs[key] = InboxEntry(
            key=key, status=InboxStatus.RECEIVED, event=event, created_at=self.clock.now()
        )
        return True

    def get(self, key: str) -> InboxEntry | None:
        self._check()
        return self.docs.get(key)

    def mark(
        self, key: str, status: InboxStatus, event: WeComEvent | None = None, **fields: str
    ) -> None:
        self._check()
        update = {"status": status, **fields, **({"event": event} if event else {})}
        self.docs[key] = self.docs[key].model_copy(update=update)

    def unpublished(self, created_before: datetime, limit: int) -> list[InboxEntry]:
        self._check()
        open_ = [
            e
            for e in self.docs.values()
            if e.status is not InboxStatus.PUBLISHED and e.created_at < created_before
        ]
        return sorted(open_, key=lambda e: e.created_at)[:limit]


class FakeDedupe:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def claim(self, key: str, **fields: Any) -> bool:
        if key in self.docs:
            return False
        self.docs[key] = dict(fields)
        return True

    def get(self, key: str) -> dict[str, Any] | None:
        return self.docs.get(key)

    def update(self, key: str, **fields: Any) -> None:
        self.docs.setdefault(key, {}).update(fields)

    def release(self, key: str) -> None:
        self.docs.pop(key, None)


class FakeLedger:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.docs: dict[str, dict[str, Any]] = {}

    def claim(self, code: str, owner: str, stale_after_s: float) -> WelcomeClaim:
        claim = may_claim(self.docs.get(code), owner, self.clock.now(), stale_after_s)
        if claim.granted:
            self.docs[code] = {"owner": owner, "status": "sending", "claimed_at": self.clock.now()}
        return claim

    def finish(self, code: str, status: WelcomeStatus, latency_ms: float | None = None) -> None:
        self.docs.setdefault(code, {"owner": "", "claimed_at": self.clock.now()})["status"] = status


class FakeGroupMessenger:
    """WeCom's 群发 APIs: tasks by msgid; `confirm(msgid)` is the staff member pressing send."""

    def __init__(self) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.reminded: list[str] = []
        self.calls = 0

    def add_msg_template(
        self,
        chat_type: str,
        sender: str,
        targets: list[str],
        text: str,
        attachments: list[dict[str, Any]],
    ) -> tuple[str, list[str]]:
        self.calls += 1
        msgid = f"msg{len(self.tasks)}"
        self.tasks[msgid] = {
            "sender": sender,
            "targets": targets,
            "text": text,
            "status": 0,
            "attachments": attachments,
        }
        return msgid, []

    def confirm(self, msgid: str, failed: dict[str, int] | None = None) -> None:
        """The staff member presses send; `failed` maps targets to WeCom's failure status
        (2 not a contact, 3 already received a 群发 today). A cancelled task cannot be sent."""
        if self.tasks[msgid]["status"] == -1:
            return
        self.tasks[msgid]["status"] = 2
        self.tasks[msgid]["failed"] = failed or {}

    def get_groupmsg_task(self, msgid: str) -> list[GroupMsgTask]:
        task = self.tasks[msgid]
        return [GroupMsgTask(userid=task["sender"], status=max(0, task["status"]))]

    def get_groupmsg_send_result(self, msgid: str, userid: str) -> list[GroupMsgSend]:
        """93338: every target, status 0 until sent, then 1 or the failure (2, 3)."""
        task = self.tasks[msgid]
        if task["status"] != 2:
            return [GroupMsgSend(external_userid=t, status=0) for t in task["targets"]]
        failed = task["failed"]
        return [GroupMsgSend(external_userid=t, status=failed.get(t, 1)) for t in task["targets"]]

    def remind_groupmsg_send(self, msgid: str) -> None:
        self.reminded.append(msgid)

    def cancel_groupmsg_send(self, msgid: str) -> None:
        """97611: what was sent stays sent; an unsent task can no longer be sent."""
        if self.tasks[msgid]["status"] == 0:
            self.tasks[msgid]["status"] = -1
        self.tasks[msgid]["cancel_calls"] = self.tasks[msgid].get("cancel_calls", 0) + 1


class FakeTransferApi:
    """94088/94081: transfers wait until `finish(ext, status)`; 1 done, 3 refused, 4 full."""

    def __init__(self) -> None:
        self.transfer_calls: list[list[str]] = []
        self.transfer_states: dict[str, int] = {}
        self.transfer_refusals: dict[str, int] = {}
        self.group_transfer_calls: list[tuple[bool, list[str], str]] = []
        self.group_refusals: dict[str, int] = {}

    def transfer_customer(
        self, resigned: bool, handover: str, takeover: str, external_userids: list[str]
    ) -> dict[str, int]:
        assert len(external_userids) <= 100, "WeCom takes at most 100 customers a call"
        self.transfer_calls.append(list(external_userids))
        codes = {ext: self.transfer_refusals.get(ext, 0) for ext in external_userids}
        self.transfer_states.update({ext: 2 for ext, code in codes.items() if not code})
        return codes

    def finish(self, external_userid: str, status: int = 1) -> None:
        self.transfer_states[external_userid] = status

    def transfer_result(self, resigned: bool, handover: str, takeover: str) -> list[TransferResult]:
        return [
            TransferResult(external_userid=ext, status=status)
            for ext, status in self.transfer_states.items()
        ]

    def transfer_group_chats(
        self, resigned: bool, chat_ids: list[str], new_owner: str
    ) -> dict[str, int]:
        assert 1 <= len(chat_ids) <= 100, "WeCom takes 1 to 100 chats a call"
        self.group_transfer_calls.append((resigned, list(chat_ids), new_owner))
        return {c: self.group_refusals[c] for c in chat_ids if c in self.group_refusals}


class FakeWeCom(FakeGroupMessenger, FakeTransferApi):
    """Records calls; `fail_welcome` makes send_welcome_msg fail that many times first."""

    def __init__(self) -> None:
        FakeGroupMessenger.__init__(self)
        FakeTransferApi.__init__(self)
        self.welcomes: list[str] = []
        self.welcome_attachments: list[list[dict[str, Any]]] = []
        self.contact_ways: dict[str, dict[str, Any]] = {}
        self.ways_made = 0
        self.uploads: list[str] = []
        self.templates: dict[str, tuple[str, dict[str, Any] | None]] = {}
        self.template_limit = 100
        self.used: set[str] = set()
        self.fail_welcome = 0
        self.marked: list[tuple[str, str, list[str]]] = []
        self.contacts: dict[str, dict[str, Any]] = {}
        self.chats: dict[str, dict[str, Any]] = {}
        self.tags: list[CorpTag] = []
        self.join_ways: list[str] = []
        self.way_chats: dict[str, list[str]] = {}
        self.now: Callable[[], datetime] = lambda: datetime(2026, 11, 23, 9, tzinfo=UTC)
        self.removed: list[tuple[str, str, list[str]]] = []
        self.texts: list[tuple[str, str]] = []
        self.fail_text_to: set[str] = set()
        self.invalid_users: set[str] = set()
        self.expired: set[str] = set()
        self.busy_welcome = 0  # the next n sends answer 41096
        self.login_codes: dict[str, str] = {}  # web login code -> the member who scanned
        self.tag_list_calls: list[tuple[list[str] | None, list[str] | None]] = []
        self.chat_reads: list[str] = []
        self.chat_errors: dict[str, Exception] = {}

    def login_identity(self, code: str) -> LoginIdentity:
        userid = self.login_codes.pop(code, None)
        if userid is None:
            raise UpstreamError("auth/getuserinfo: invalid code", 40029)
        return LoginIdentity(userid=userid)

    def contact(self, external_userid: str, name: str = "客户", **answer: Any) -> None:
        """Make WeCom know this contact (externalcontact/get answers it from now on)."""
        contact = {"external_userid": external_userid, "name": name}
        self.contacts[external_userid] = {"external_contact": contact, **answer}

    def get_external_contact(self, external_userid: str) -> ExternalContact:
        """92114: a contact WeCom does not know is errcode 84061, never an invented name."""
        if external_userid not in self.contacts:
            raise UpstreamError("externalcontact/get: errcode 84061 not external contact", 84061)
        return ExternalContact.model_validate(self.contacts[external_userid])

    def send_welcome_msg(
        self,
        welcome_code: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> WelcomeOutcome:
        if self.fail_welcome:
            self.fail_welcome -= 1
            raise TransientError("busy")
        if welcome_code in self.expired:
            return WelcomeOutcome.EXPIRED
        if self.busy_welcome:
            self.busy_welcome -= 1
            return WelcomeOutcome.BUSY
        if welcome_code in self.used:
            return WelcomeOutcome.SENT  # 41051: delivered already
        self.used.add(welcome_code)
        self.welcomes.append(text)
        self.welcome_attachments.append(attachments or [])
        return WelcomeOutcome.SENT

    def mark_tag(
        self, userid: str, external_userid: str, add: list[str], remove: list[str] | None = None
    ) -> None:
        self.marked.append((userid, external_userid, add))
        self.removed.append((userid, external_userid, remove or []))

    def send_text(self, touser: str, text: str) -> AppMessageResult:
        if touser in self.fail_text_to:
            raise TransientError("system busy")
        if touser in self.invalid_users:
            raise NoValidRecipient("message/send: errcode 81013", 81013)
        self.texts.append((touser, text))
        return AppMessageResult()

    def get_corp_tag_list(
        self, tag_ids: list[str] | None = None, group_ids: list[str] | None = None
    ) -> list[CorpTag]:
        self.tag_list_calls.append((tag_ids, group_ids))
        if not (tag_ids or group_ids):
            return list(self.tags)
        return [t for t in self.tags if t.id in (tag_ids or []) or t.group_id in (group_ids or [])]

    def add_corp_tag(self, group_name: str, names: list[str]) -> list[CorpTag]:
        new = [
            CorpTag(id=f"t{len(self.tags) + i}", name=n, group_name=group_name)
            for i, n in enumerate(names)
        ]
        self.tags += new
        return new

    def get_group_chat(self, chat_id: str) -> GroupChat:
        self.chat_reads.append(chat_id)
        if chat_id in self.chat_errors:
            raise self.chat_errors[chat_id]
        if chat_id not in self.chats:  # 92122: a chat WeCom does not know is errcode 40050
            raise GroupUnreadable("groupchat/get: errcode 40050 chat not found", 40050)
        return GroupChat.model_validate({"chat_id": chat_id, **self.chats[chat_id]})

    def add_join_way(self, chat_ids: list[str], state: str, remark: str) -> str:
        for chat_id in chat_ids:  # 92229: only a chat of the corp can get a join way
            if chat_id not in self.chats:
                raise GroupUnreadable("groupchat/add_join_way: errcode 40050", 40050)
        self.join_ways.append(",".join(chat_ids))
        self.way_chats[f"cfg{len(self.join_ways)}"] = list(chat_ids)
        return f"cfg{len(self.join_ways)}"

    def update_join_way(self, config_id: str, chat_ids: list[str], state: str, remark: str) -> None:
        assert 1 <= len(chat_ids) <= 5, "92229: 1 to 5 chats (41091 beyond)"
        self.way_chats[config_id] = list(chat_ids)

    def get_join_way(self, config_id: str) -> JoinWay:
        return JoinWay(config_id=config_id, qr_code=f"https://qr.example/{config_id}")

    def add_contact_way(self, way: ContactWay) -> tuple[str, str]:
        self.ways_made += 1
        config_id = f"cw{self.ways_made}"
        self.contact_ways[config_id] = {"type": way.type, "users": way.users, "state": way.state}
        return config_id, f"https://qr.example/{config_id}"

    def update_contact_way(self, config_id: str, way: ContactWay) -> None:
        current = self.contact_ways[config_id]
        assert current["type"] == way.type, "92228: update cannot change the type"
        current["users"] = way.users

    def del_contact_way(self, config_id: str) -> bool:
        return self.contact_ways.pop(config_id, None) is not None

    def upload_media(
        self, kind: str, filename: str, data: bytes, content_type: str
    ) -> UploadedMedia:
        self.uploads.append(filename)
        return UploadedMedia(media_id=f"media{len(self.uploads)}", created_at=self.now())

    def add_group_welcome_template(self, text: str, attachment: dict[str, Any] | None) -> str:
        if len(self.templates) >= self.template_limit:
            raise TemplateLimit("group_welcome_template/add: errcode 41055", 41055)
        template_id = f"tpl{len(self.templates) + 1}"
        self.templates[template_id] = (text, attachment)
        return template_id

    def edit_group_welcome_template(
        self, template_id: str, text: str, attachment: dict[str, Any] | None
    ) -> None:
        assert template_id in self.templates
        self.templates[template_id] = (text, attachment)


class _Once:
    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}
        self.applied: set[str] = set()

    def get(self, key: str) -> Any:
        return self.docs.get(key)

    def update_once(self, event_key: str, key: str, change: Callable[[Any], Any]) -> bool:
        if event_key in self.applied:
            return False
        self.docs[key] = change(self.docs.get(key))
        self.applied.add(event_key)
        return True


class FakeCustomers(_Once):
    docs: dict[str, Customer]

    def of_staff(self, staff_userid: str) -> list[str]:
        return sorted(k for k, c in self.docs.items() if staff_userid in c.active_staff)


class FakeGroups(_Once):
    """Groups with a write counter standing in for Firestore's server write time."""

    docs: dict[str, Group]

    def __init__(self) -> None:
        super().__init__()
        self.revision: dict[str, int] = {}
        self.writes = 0

    def update_once(self, event_key: str, key: str, change: Callable[[Any], Any]) -> bool:
        applied = super().update_once(event_key, key, change)
        if applied:
            self._revise(key)
        return applied

    def put(self, group: Group) -> None:
        self.docs[group.chat_id] = group
        self._revise(group.chat_id)

    def _revise(self, key: str) -> None:
        self.writes += 1
        self.revision[key] = self.writes

    def listed(self, city: str, after: str, limit: int) -> list[Group]:
        keys = sorted(k for k, g in self.docs.items() if k > after and (not city or g.city == city))
        return [self.docs[k] for k in keys[:limit]]

    def owned_by(self, userid: str) -> list[Group]:
        return [g for g in self.docs.values() if g.owner_userid == userid and g.status == "open"]

    def with_welcome(self) -> list[Group]:
        return [g for g in self.docs.values() if g.welcome is not None]

    def changed_since(self, watermark: Any) -> tuple[list[Group], Any]:
        since = watermark or 0
        changed = [self.docs[k] for k, rev in self.revision.items() if rev > since]
        return changed, self.writes


class FakeBankCustomers:
    """Versions count writes, like Firestore's update_time preconditions."""

    def __init__(self) -> None:
        self.docs: dict[str, BankCustomer] = {}
        self.version: dict[str, int] = {}
        self.reads = 0
        self.writes = 0
        self.before_save: Callable[[], None] | None = None
        self.applied: set[str] = set()

    def get(self, bank_customer_id: str) -> tuple[BankCustomer | None, Any]:
        self.reads += 1
        return self.docs.get(bank_customer_id), self.version.get(bank_customer_id)

    def for_alert(self, bank_customer_id: str) -> tuple[BankCustomer | None, Any]:
        return self.get(bank_customer_id)

    def record_invite(self, customer: BankCustomer, version: Any) -> bool:
        stored, _ = self.get(customer.bank_customer_id)
        if stored is not None:  # only the invites change: the rest stays as stored
            customer = stored.model_copy(update={"invites": customer.invites})
        return self.save_if_unchanged(customer, version)

    def save_if_unchanged(self, customer: BankCustomer, version: Any) -> bool:
        if self.before_save:
            hook, self.before_save = self.before_save, None
            hook()
        if self.version.get(customer.bank_customer_id) != version:
            return False
        self._write(customer)
        return True

    def _write(self, customer: BankCustomer) -> None:
        self.writes += 1
        self.docs[customer.bank_customer_id] = customer
        self.version[customer.bank_customer_id] = self.version.get(customer.bank_customer_id, 0) + 1

    def update_once(
        self,
        event_key: str,
        bank_customer_id: str,
        change: Callable[[BankCustomer | None], BankCustomer],
    ) -> bool:
        if event_key in self.applied:
            return False
        self._write(change(self.docs.get(bank_customer_id)))
        self.applied.add(event_key)
        return True

    def link(self, bank_customer_id: str, link: BankCustomerLink, at: datetime) -> BankCustomer:
        current = self.docs.get(bank_customer_id) or BankCustomer(bank_customer_id=bank_customer_id)
        update: dict[str, Any] = {
            "external_userid": link.external_userid or current.external_userid,
            "unionid": link.unionid or current.unionid,
        }
        if link.marketing_opt_out is not None:
            update |= {"marketing_opt_out": link.marketing_opt_out, "consent_at": at}
        linked = current.model_copy(update=update)
        self._write(linked)
        return linked

    def due(self, now: datetime, limit: int) -> list[tuple[BankCustomer, Any]]:
        due = sorted(
            (c for c in self.docs.values() if c.next_relayer_at and c.next_relayer_at <= now),
            key=lambda c: c.next_relayer_at or now,
        )[:limit]
        self.reads += len(due)
        return [(c, self.version[c.bank_customer_id]) for c in due]

    def page(self, after: str, limit: int) -> list[tuple[BankCustomer, Any]]:
        ids = sorted(i for i in self.docs if i > after)[:limit]
        self.reads += len(ids)
        return [(self.docs[i], self.version[i]) for i in ids]

    def find_linked(self, external_userids: list[str], unionids: list[str]) -> list[str]:
        return sorted(
            c.bank_customer_id
            for c in self.docs.values()
            if (c.external_userid and c.external_userid in external_userids)
            or (c.unionid and c.unionid in unionids)
        )

    def in_group(self, chat_id: str) -> list[str]:
        return sorted(c.bank_customer_id for c in self.docs.values() if chat_id in c.groups)

    def set_membership(self, bank_customer_ids: list[str], chat_id: str, member: bool) -> None:
        for bid in bank_customer_ids:
            current = self.docs.get(bid) or BankCustomer(bank_customer_id=bid)
            groups = [g for g in current.groups if g != chat_id] + ([chat_id] if member else [])
            self._write(current.model_copy(update={"groups": groups}))


class FakeOpsTasks:
    def __init__(self) -> None:
        self.docs: dict[str, OpsTask] = {}
        self.creates = 0

    def create(self, task: OpsTask) -> bool:
        self.creates += 1
        if task.id in self.docs:
            return False
        self.docs[task.id] = task
        return True

    def list_open(self) -> list[OpsTask]:
        return list(self.docs.values())


class FakeTags:
    def __init__(self) -> None:
        self.docs: dict[str, CorpTag] = {}

    def put_many(self, tags: list[CorpTag]) -> None:
        self.docs.update({t.id: t for t in tags})

    def mark_deleted(self, tag_ids: list[str]) -> None:
        for tid in tag_ids:
            if tid in self.docs:
                self.docs[tid] = self.docs[tid].model_copy(update={"deleted": True})

    def mark_group_deleted(self, group_id: str) -> list[str]:
        ids = [t.id for t in self.docs.values() if t.group_id == group_id]
        self.mark_deleted(ids)
        return ids


class FakeChannels:
    def __init__(self) -> None:
        self.docs: dict[str, Channel] = {}

    def get(self, state: str) -> Channel | None:
        return self.docs.get(state)

    def put(self, channel: Channel) -> None:
        self.docs[channel.state] = channel

    def all(self) -> list[Channel]:
        return list(self.docs.values())


class FakeGroupCodes:
    def __init__(self) -> None:
        self.docs: dict[str, GroupCode] = {}

    def get(self, code_id: str) -> GroupCode | None:
        return self.docs.get(code_id)

    def put(self, code: GroupCode) -> None:
        self.docs[code.id] = code

    def all(self) -> list[GroupCode]:
        return list(self.docs.values())

    def holding(self, chat_id: str) -> list[GroupCode]:
        return [c for c in self.docs.values() if chat_id in c.chat_ids]


class FakeMedia:
    """The library's records (unit tests only)."""

    def __init__(self) -> None:
        self.docs: dict[str, MediaAsset] = {}

    def get(self, asset_id: str) -> MediaAsset | None:
        return self.docs.get(asset_id)

    def get_many(self, asset_ids: list[str]) -> dict[str, MediaAsset]:
        return {a: self.docs[a] for a in asset_ids if a in self.docs}

    def put(self, asset: MediaAsset) -> None:
        self.docs[asset.id] = asset

    def all(self) -> list[MediaAsset]:
        return list(self.docs.values())


class FakeBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.objects[name] = data

    def get(self, name: str) -> bytes:
        return self.objects[name]


class FakeFollowups:
    def __init__(self) -> None:
        self.docs: dict[str, Followup] = {}

    def create(self, followup: Followup) -> bool:
        if followup.id in self.docs:
            return False
        self.docs[followup.id] = followup
        return True

    def due(self, now: datetime, limit: int) -> list[Followup]:
        due = [f for f in self.docs.values() if f.status is FollowupStatus.OPEN and f.due_at <= now]
        return sorted(due, key=lambda f: f.due_at)[:limit]

    def for_staff(self, staff_userid: str, status: str, limit: int) -> list[Followup]:
        mine = [f for f in self.docs.values() if f.staff_userid == staff_userid]
        return sorted((f for f in mine if f.status == status), key=lambda f: f.due_at)[:limit]

    def of_customer(self, external_userid: str, limit: int) -> list[Followup]:
        mine = [f for f in self.docs.values() if f.external_userid == external_userid]
        return sorted(mine, key=lambda f: f.due_at)[:limit]

    def mark_sent(self, ids: list[str], at: datetime) -> None:
        for fid in ids:
            self.docs[fid] = self.docs[fid].model_copy(
                update={"status": FollowupStatus.SENT, "sent_at": at}
            )

    def get(self, followup_id: str) -> Followup | None:
        return self.docs.get(followup_id)

    def save(self, followup: Followup) -> None:
        self.docs[followup.id] = followup

    def open_of(
        self, external_userid: str, staff_userid: str, reason: FollowupReason
    ) -> list[Followup]:
        return [
            f
            for f in self.docs.values()
            if (f.external_userid, f.staff_userid, f.reason)
            == (external_userid, staff_userid, reason)
            and f.status not in CLOSED
        ]

    def open_journey(self, bank_customer_id: str, journey: str) -> list[Followup]:
        return [
            f
            for f in self.docs.values()
            if (f.bank_customer_id, f.journey) == (bank_customer_id, journey)
            and f.status not in CLOSED
        ]


class FakeTagRules:
    def __init__(self) -> None:
        self.docs: dict[str, TagRule] = {}
        self.reads = 0

    def put(self, rule: TagRule) -> None:
        self.docs[rule.id] = rule

    def get(self, rule_id: str) -> TagRule | None:
        return self.docs.get(rule_id)

    def delete(self, rule_id: str) -> bool:
        return self.docs.pop(rule_id, None) is not None

    def all(self) -> list[TagRule]:
        self.reads += 1
        return list(self.docs.values())


class FakeBackfills:
    def __init__(self) -> None:
        self.docs: dict[str, Backfill] = {}

    def start(self, backfill: Backfill) -> None:
        self.docs[backfill.rule_id] = backfill

    def get(self, rule_id: str) -> Backfill | None:
        return self.docs.get(rule_id)

    def running(self) -> list[Backfill]:
        return [b for b in self.docs.values() if b.status is BackfillStatus.RUNNING]

    def lease(self, before: Backfill, until: datetime, now: datetime) -> Backfill | None:
        stored = self.docs.get(before.rule_id)
        if stored is None or not stored.same_step(before) or not stored.free_at(now):
            return None
        self.docs[before.rule_id] = leased = before.model_copy(update={"leased_until": until})
        return leased

    def advance(self, before: Backfill, after: Backfill) -> bool:
        stored = self.docs.get(before.rule_id)
        if stored is None or not stored.same_step(before):
            return False
        self.docs[before.rule_id] = after
        return True


class FakeReferrals:
    """The referral repository's contract in memory: versions count writes per invite."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}
        self.code_by_customer: dict[str, str] = {}
        self.cardholders: dict[str, str] = {}
        self.slots: dict[str, list[str]] = {}
        self.invites: dict[str, Invite] = {}
        self.versions: dict[str, int] = {}
        self.attempts: dict[str, InviteAttempt] = {}
        self.days: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.rewards_by_id: dict[str, Reward] = {}
        self.crash_after_credit = False

    def code_of(self, bank_customer_id: str) -> str | None:
        return self.code_by_customer.get(bank_customer_id)

    def create_code(self, bank_customer_id: str, code: str) -> str:
        if code in self.codes:
            raise Conflict("taken")
        self.codes[code] = bank_customer_id
        return self.code_by_customer.setdefault(bank_customer_id, code)

    def owner_of(self, code: str) -> str | None:
        return self.codes.get(code)

    def first_card_event(self, bank_customer_id: str, event_id: str, opened_at: datetime) -> str:
        return self.cardholders.setdefault(bank_customer_id, event_id)

    def claim_hash(self, kind: str, value: str, referee: str, limit: int) -> bool:
        holders = self.slots.setdefault(f"{kind}-{value}", [])
        if referee in holders:
            return True
        if len(holders) < limit:
            holders.append(referee)
            return True
        return False

    def get_invite(self, referee: str) -> tuple[Invite | None, Any]:
        return self.invites.get(referee), self.versions.get(referee)

    def _write(self, invite: Invite) -> int:
        self.invites[invite.referee] = invite
        self.versions[invite.referee] = self.versions.get(invite.referee, 0) + 1
        return self.versions[invite.referee]

    def create_invite(self, invite: Invite) -> bool:
        if invite.referee in self.invites:
            return False
        self._write(invite)
        return True

    def _next_day(self, invite: Invite) -> int:
        key = f"{invite.referrer}-{invite.day}"
        self.days[key] = self.days.get(key, 0) + 1
        return self.days[key]

    def reserve(self, invite: Invite) -> tuple[int, Any] | None:
        if invite.referee in self.invites:
            return None
        return self._next_day(invite), self._write(invite)

    def re_reserve(self, invite: Invite, version: Any) -> tuple[int, Any] | None:
        if self.versions.get(invite.referee) != version:
            return None
        return self._next_day(invite), self._write(invite)

    def credit(self, invite: Invite, version: Any) -> int | None:
        if self.versions.get(invite.referee) != version:
            return None
        self._write(invite.model_copy(update={"status": InviteStatus.CREDITED}))
        self.counts[invite.referrer] = self.counts.get(invite.referrer, 0) + 1
        if self.crash_after_credit:
            self.crash_after_credit = False
            raise RuntimeError("instance died after the credit")
        return self.counts[invite.referrer]

    def reject(self, invite: Invite, version: Any) -> bool:
        if self.versions.get(invite.referee) != version:
            return False
        self._write(invite)
        return True

    def record_attempt(self, attempt: InviteAttempt) -> None:
        self.attempts[attempt.event_id] = attempt

    def successful_invites(self, referrer: str) -> int:
        return self.counts.get(referrer, 0)

    def grant(self, reward: Reward) -> bool:
        if reward.id in self.rewards_by_id:
            return False
        self.rewards_by_id[reward.id] = reward
        return True

    def rewards(self, referrer: str) -> list[Reward]:
        return sorted(
            (r for r in self.rewards_by_id.values() if r.referrer == referrer), key=lambda r: r.tier
        )

    def mark_published(self, reward_id: str, at: datetime) -> None:
        reward = self.rewards_by_id[reward_id]
        self.rewards_by_id[reward_id] = reward.model_copy(update={"published_at": at})


class FakeTopic:
    """A topic: messages sent, events published, and its dead letters."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, dict[str, str]]] = []
        self.published: list[WeComEvent] = []
        self.dead: list[tuple[bytes, str]] = []
        self.fail = False

    def send(self, message: Any, ordering_key: str = "", **attributes: str) -> str:
        if self.fail:
            raise TransientError("publish failed")
        self.sent.append((message, attributes))
        return str(len(self.sent))

    def publish(self, event: WeComEvent) -> str:
        if self.fail:
            raise TransientError("publish failed")
        self.published.append(event)
        return str(len(self.published))

    def dead_letter(self, payload: bytes, reason: str) -> None:
        self.dead.append((payload, reason))


class FakeTickLog:
    def __init__(self) -> None:
        self.docs: dict[str, TickSeen] = {}

    def beat(self, seen: TickSeen) -> None:
        self.docs[seen.topic] = seen

    def all(self) -> list[TickSeen]:
        return list(self.docs.values())


class FakeCampaigns:
    def __init__(self) -> None:
        self.docs: dict[str, Campaign] = {}

    def put(self, campaign: Campaign) -> None:
        self.docs[campaign.id] = campaign

    def get(self, campaign_id: str) -> Campaign | None:
        return self.docs.get(campaign_id)

    def enabled(self) -> list[Campaign]:
        return [c for c in self.docs.values() if c.enabled]

    def all(self) -> list[Campaign]:
        return list(self.docs.values())


class FakeRuns:
    def __init__(self) -> None:
        self.docs: dict[str, CampaignRun] = {}

    def create(self, run: CampaignRun) -> bool:
        if run.id in self.docs:
            return False
        self.docs[run.id] = run
        return True

    def get(self, run_id: str) -> CampaignRun | None:
        return self.docs.get(run_id)

    def update(self, run_id: str, **fields: Any) -> None:
        """Read back typed, as the Firestore repository reads a document."""
        self.docs[run_id] = CampaignRun.model_validate(self.docs[run_id].model_dump() | fields)

    def for_campaign(self, campaign_id: str, limit: int) -> list[CampaignRun]:
        runs = [r for r in self.docs.values() if r.campaign_id == campaign_id]
        return sorted(runs, key=lambda r: r.created_at, reverse=True)[:limit]


class FakeAudience:
    """Targets by audience kind, served in pages like the Firestore source."""

    def __init__(self, page: int = 1000) -> None:
        self.customers_by_tag: list[tuple[Target, set[str]]] = []
        self.group_targets: list[Target] = []
        self.birthdays: dict[str, list[Target]] = {}
        self.page = page

    def customers(
        self, audience: CustomerAudience, birthdays: list[str] | None = None
    ) -> Iterator[list[Target]]:
        if birthdays is not None:
            found = [t for day in birthdays for t in self.birthdays.get(day, [])]
        else:
            found = [t for t, tags in self.customers_by_tag if audience.admits(tags)]
        for start in range(0, len(found), self.page):
            yield found[start : start + self.page]

    def groups(self, audience: GroupAudience) -> Iterator[list[Target]]:
        yield list(self.group_targets)


class FakeCaps:
    def __init__(self) -> None:
        self.holders: dict[tuple[str, str], str] = {}

    def claim(self, day: str, run_id: str, targets: list[str]) -> dict[str, str]:
        lost = {}
        for target in targets:
            holder = self.holders.setdefault((day, target), run_id)
            if holder != run_id:
                lost[target] = holder
        return lost

    def of_target(self, target: str, limit: int) -> list[tuple[str, str]]:
        found = [(day, run) for (day, t), run in self.holders.items() if t == target]
        return sorted(found, reverse=True)[:limit]


class FakeBatchRecords:
    def __init__(self) -> None:
        self.docs: dict[str, BatchRecord] = {}

    def claim(self, record: BatchRecord) -> BatchRecord | None:
        if record.id in self.docs:
            return self.docs[record.id]
        self.docs[record.id] = record
        return None

    def save(self, record: BatchRecord) -> None:
        self.docs[record.id] = record

    def following(self, limit: int) -> list[BatchRecord]:
        return [r for r in self.docs.values() if r.msgid and not r.final][:limit]

    def for_run(self, run_id: str) -> list[BatchRecord]:
        return [r for r in self.docs.values() if r.run_id == run_id]


class FakeCalendarYears:
    def __init__(self) -> None:
        self.docs: dict[int, OfficialYear] = {}

    def put(self, year: OfficialYear) -> None:
        self.docs[year.year] = year

    def all(self) -> list[OfficialYear]:
        return list(self.docs.values())


class FakeFunnel:
    """Milestones by id and the tallies they add to, as the Firestore store keeps them."""

    def __init__(self) -> None:
        self.docs: dict[str, MilestoneRecord] = {}
        self.days: dict[str, Tally] = {}

    def record(self, milestone: MilestoneRecord) -> bool:
        if milestone.id in self.docs:
            return False
        self.docs[milestone.id] = milestone
        added = merged([*self.days.values(), *tallies_of(milestone)])
        self.days = {tally_id(t): t for t in added}
        return True

    def tallies(self, by: Dimension, first: date, last: date) -> list[Tally]:
        return [t for t in self.days.values() if t.by == by and first <= t.day <= last]

    def milestones(self, start: datetime, end: datetime) -> list[MilestoneRecord]:
        return [m for m in self.docs.values() if start <= m.at < end]

    def put_tallies(self, tallies: list[Tally]) -> None:
        self.days |= {tally_id(t): t for t in tallies}

    def of(self, milestone: str) -> list[MilestoneRecord]:
        return [m for m in self.docs.values() if m.milestone == milestone]


class FakeTransfers:
    def __init__(self) -> None:
        self.docs: dict[str, Transfer] = {}

    def put(self, transfer: Transfer) -> None:
        self.docs[transfer.id] = transfer

    def get(self, transfer_id: str) -> Transfer | None:
        return self.docs.get(transfer_id)

    def recent(self, limit: int) -> list[Transfer]:
        return sorted(self.docs.values(), key=lambda t: t.created_at, reverse=True)[:limit]


class FakeDeliveries:
    def __init__(self) -> None:
        self.failures: dict[str, int] = {}

    def failed(self, key: str) -> int:
        self.failures[key] = self.failures.get(key, 0) + 1
        return self.failures[key]


class FakeGrants:
    def __init__(self) -> None:
        self.docs: dict[str, Grant] = {}

    def get(self, identity: str) -> Grant | None:
        return self.docs.get(identity)

    def put(self, grant: Grant) -> None:
        self.docs[grant.id] = grant

    def all(self) -> list[Grant]:
        return [self.docs[k] for k in sorted(self.docs)]


class FakeBranches:
    def __init__(self) -> None:
        self.docs: dict[str, Branch] = {}

    def put(self, branch: Branch) -> None:
        self.docs[branch.id] = branch

    def all(self) -> list[Branch]:
        return list(self.docs.values())


class FakeStaff:
    def __init__(self) -> None:
        self.docs: dict[str, Staff] = {}

    def put(self, staff: Staff) -> None:
        self.docs[staff.userid] = staff

    def get_many(self, userids: list[str]) -> dict[str, Staff]:
        return {u: self.docs[u] for u in userids if u in self.docs}

    def all(self) -> list[Staff]:
        return list(self.docs.values())


class FakeSessions:
    def __init__(self) -> None:
        self.docs: dict[str, Session] = {}

    def create(self, session: Session) -> None:
        self.docs.setdefault(session.id, session)

    def get(self, session_id: str) -> Session | None:
        return self.docs.get(session_id)

    def touch(self, session_id: str, at: datetime) -> None:
        self.docs[session_id] = self.docs[session_id].model_copy(update={"last_seen": at})

    def delete(self, session_id: str) -> None:
        self.docs.pop(session_id, None)


class FakeIdempotency:
    def __init__(self) -> None:
        self.docs: dict[str, IdempotentCall] = {}

    def start(self, call: IdempotentCall) -> IdempotentCall | None:
        held = self.docs.get(call.id)
        if held is None:
            self.docs[call.id] = call
        return held

    def finish(self, call_id: str, status: int, body: str) -> None:
        self.docs[call_id] = self.docs[call_id].model_copy(
            update={"status": CallStatus.DONE, "response_status": status, "response_body": body}
        )

    def release(self, call_id: str) -> None:
        self.docs.pop(call_id, None)


class FakeAudit:
    def __init__(self) -> None:
        self.docs: dict[str, AuditEntry] = {}

    def append(self, entry: AuditEntry) -> bool:
        if entry.id in self.docs:
            return False
        self.docs[entry.id] = entry
        return True

    def query(self, q: AuditQuery) -> list[AuditEntry]:
        found = [
            e
            for e in self.docs.values()
            if (not q.actor or e.actor == q.actor) and (not q.target or e.target == q.target)
        ]
        return sorted(found, key=lambda e: e.at, reverse=True)[: q.limit]


class FakeGroupDirectory:
    def __init__(self) -> None:
        self.current: Manifest | None = None
        self.blobs: dict[str, bytes] = {}

    def manifest(self) -> Manifest | None:
        return self.current

    def parts(self, manifest: Manifest) -> list[bytes]:
        return [self.blobs[pid] for pid in manifest.part_ids()]

    def publish(self, manifest: Manifest, parts: list[bytes], previous: Manifest | None) -> None:
        self.blobs |= dict(zip(manifest.part_ids(), parts, strict=True))
        self.current = manifest


class FakePeople:
    """Audit pseudonyms only: finding and erasing a person's documents is tested on the
    emulator (tests/integration/test_people_store.py, tests/e2e/test_people_path.py)."""

    def __init__(self) -> None:
        self.tokens: dict[tuple[str, str], str] = {}
        self.receipts: list[Receipt] = []

    def token(self, kind: str, identifier: str) -> str:
        return self.tokens.setdefault((kind, identifier), f"p-{len(self.tokens) + 1:04d}")

    def find(self, collection: str, locate: Locate, identifier: str) -> list[Found]:
        return []

    def delete(self, collection: str, doc_id: str) -> None:
        raise AssertionError("no document to delete in the fakes")

    def replace(self, collection: str, doc_id: str, data: dict[str, Any]) -> None:
        raise AssertionError("no document to replace in the fakes")

    def keep_receipt(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)

    def ended_before(self, cutoff: datetime, after: str, limit: int) -> list[str]:
        return []


@dataclass
class FakeCloud:
    """Every fake adapter of one test; `root()` is the production wiring standing on them."""

    clock: FakeClock = field(default_factory=FakeClock)
    wecom: FakeWeCom = field(default_factory=FakeWeCom)
    customers: FakeCustomers = field(default_factory=FakeCustomers)
    groups: FakeGroups = field(default_factory=FakeGroups)
    bank_customers: FakeBankCustomers = field(default_factory=FakeBankCustomers)
    channels: FakeChannels = field(default_factory=FakeChannels)
    tags: FakeTags = field(default_factory=FakeTags)
    followups: FakeFollowups = field(default_factory=FakeFollowups)
    ops_tasks: FakeOpsTasks = field(default_factory=FakeOpsTasks)
    tag_rules: FakeTagRules = field(default_factory=FakeTagRules)
    backfills: FakeBackfills = field(default_factory=FakeBackfills)
    dedupe: FakeDedupe = field(default_factory=FakeDedupe)
    deliveries: FakeDeliveries = field(default_factory=FakeDeliveries)
    referrals: FakeReferrals = field(default_factory=FakeReferrals)
    transfers: FakeTransfers = field(default_factory=FakeTransfers)
    funnel: FakeFunnel = field(default_factory=FakeFunnel)
    campaigns: FakeCampaigns = field(default_factory=FakeCampaigns)
    runs: FakeRuns = field(default_factory=FakeRuns)
    batches: FakeBatchRecords = field(default_factory=FakeBatchRecords)
    audience: FakeAudience = field(default_factory=FakeAudience)
    caps: FakeCaps = field(default_factory=FakeCaps)
    years: FakeCalendarYears = field(default_factory=FakeCalendarYears)
    media: FakeMedia = field(default_factory=FakeMedia)
    blobs: FakeBlobs = field(default_factory=FakeBlobs)
    group_codes: FakeGroupCodes = field(default_factory=FakeGroupCodes)
    ticks: FakeTickLog = field(default_factory=FakeTickLog)
    group_directory: FakeGroupDirectory = field(default_factory=FakeGroupDirectory)
    topics: dict[str, FakeTopic] = field(default_factory=dict)
    grants: FakeGrants = field(default_factory=FakeGrants)
    branches: FakeBranches = field(default_factory=FakeBranches)
    staff: FakeStaff = field(default_factory=FakeStaff)
    sessions: FakeSessions = field(default_factory=FakeSessions)
    idempotency: FakeIdempotency = field(default_factory=FakeIdempotency)
    audit: FakeAudit = field(default_factory=FakeAudit)
    people: FakePeople = field(default_factory=FakePeople)

    def __post_init__(self) -> None:
        self.wecom.now = self.clock.now  # WeCom's created_at of an upload: the same clock
        self.inbox = FakeInbox(self.clock)
        self.welcomes = FakeLedger(self.clock)

    def topic(self, name: str) -> FakeTopic:
        return self.topics.setdefault(name, FakeTopic())

    def waiting(self, topic: str, limit: int) -> int:
        """The dead-letter gauge: what the fake topic dead-lettered."""
        return min(limit, len(self.topic(topic).dead))

    def stores(self) -> Stores:
        return Stores(
            customers=self.customers,
            groups=self.groups,
            bank_customers=self.bank_customers,
            channels=self.channels,
            tags=self.tags,
            followups=self.followups,
            ops_tasks=self.ops_tasks,
            tag_rules=self.tag_rules,
            backfills=self.backfills,
            inbox=self.inbox,
            welcomes=self.welcomes,
            dedupe=self.dedupe,
            deliveries=self.deliveries,
            referrals=self.referrals,
            transfers=self.transfers,
            funnel=self.funnel,
            campaigns=self.campaigns,
            campaign_runs=self.runs,
            campaign_batches=self.batches,
            audience=self.audience,
            caps=self.caps,
            calendar_years=self.years,
            media=self.media,
            group_codes=self.group_codes,
            ticks=self.ticks,
            group_directory=self.group_directory,
        )

    def root(self, **settings: Any) -> Root:
        """siyu.bootstrap's wiring with these fakes and `settings` over the defaults."""
        return bootstrap(
            Settings(**settings),
            stores=self.stores(),
            wecom=self.wecom,
            wecom_app=self.wecom,
            topic=self.topic,
            clock=self.clock,
            blobs=self.blobs,
            access=AccessStores(
                grants=self.grants,
                branches=self.branches,
                staff=self.staff,
                sessions=self.sessions,
                idempotency=self.idempotency,
                audit=self.audit,
                people=self.people,
            ),
            login=self.wecom,
            dead_letters=self,
        )

    def install(self, **settings: Any) -> Root:
        """Make the root on these fakes the one every function entry point asks for."""
        built = self.root(**settings)
        siyu_bootstrap.install(built)
        return built

    def written(self) -> list[str]:
        """Every document any fake store holds and every message sent, as `store/key`."""
        found = [
            f"{name}/{key}"
            for name, fake in vars(self).items()
            for key in getattr(fake, "docs", {})
        ]
        for name, topic in self.topics.items():
            found += [f"topic:{name}/{n}" for n in range(len(topic.sent) + len(topic.published))]
        return sorted(found)
