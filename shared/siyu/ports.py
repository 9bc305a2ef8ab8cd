"""The ports services depend on; adapters implement them, unit tests fake them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from siyu.domain.access import Branch, Grant, Staff
    from siyu.domain.audit import AuditEntry, AuditQuery
    from siyu.domain.backfills import Backfill
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
    from siyu.domain.events import WeComEvent
    from siyu.domain.followups import Followup, FollowupReason
    from siyu.domain.funnel import Dimension, MilestoneRecord, Tally
    from siyu.domain.group_codes import GroupCode
    from siyu.domain.group_directory import Manifest
    from siyu.domain.groups import Group
    from siyu.domain.health import TickSeen
    from siyu.domain.idempotency import IdempotentCall
    from siyu.domain.inbox import InboxEntry, InboxStatus
    from siyu.domain.media import MediaAsset, UploadedMedia
    from siyu.domain.ops_tasks import OpsTask
    from siyu.domain.personal_data import Found, Locate, Receipt
    from siyu.domain.referrals import Invite, InviteAttempt, Reward
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
        JoinWay,
        LoginIdentity,
        TransferResult,
        WelcomeOutcome,
    )
    from siyu.domain.welcome import WelcomeClaim, WelcomeStatus


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class Dedupe(Protocol):
    """Markers that make at-least-once delivery act once."""

    def claim(self, key: str, **fields: Any) -> bool:
        """Create the marker; False when it already exists."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def update(self, key: str, **fields: Any) -> None: ...

    def release(self, key: str) -> None: ...


class CallbackInbox(Protocol):
    """Accepted callbacks, stored before publishing; doubles as the callback's dedupe marker."""

    def claim(self, key: str, event: WeComEvent) -> bool:
        """Store the event as RECEIVED; False when this key was stored before."""

    def get(self, key: str) -> InboxEntry | None: ...

    def mark(
        self, key: str, status: InboxStatus, event: WeComEvent | None = None, **fields: str
    ) -> None:
        """Record how publishing went; `event` replaces the stored one (what is to be
        published, e.g. with the welcome already sent)."""

    def unpublished(self, created_before: datetime, limit: int) -> list[InboxEntry]:
        """RECEIVED or PENDING entries stored before `created_before`, oldest first."""


class WelcomeLedger(Protocol):
    """One record per WelcomeCode so the callback and the worker never both send."""

    def claim(self, code: str, owner: str, stale_after_s: float) -> WelcomeClaim:
        """Take the code for `owner`: free, handed off, or held by a sender silent too long."""

    def finish(self, code: str, status: WelcomeStatus, latency_ms: float | None = None) -> None: ...


class CustomerRepo(Protocol):
    def get(self, external_userid: str) -> Customer | None: ...

    def of_staff(self, staff_userid: str) -> list[str]:
        """The external_userids with an active relation to this staff member."""

    def update_once(
        self,
        event_key: str,
        external_userid: str,
        change: Callable[[Customer | None], Customer],
    ) -> bool:
        """Apply `change` and record `event_key` in one transaction; False if already applied."""


class GroupRepo(Protocol):
    def get(self, chat_id: str) -> Group | None: ...

    def update_once(
        self, event_key: str, chat_id: str, change: Callable[[Group | None], Group]
    ) -> bool: ...

    def put(self, group: Group) -> None: ...

    def changed_since(self, watermark: Any) -> tuple[list[Group], Any]:
        """Groups written at or after `watermark` (None: all) and the watermark to pass next."""

    def listed(self, city: str, after: str, limit: int) -> list[Group]:
        """Up to `limit` groups by chat id after `after`, of `city` unless it is empty."""

    def owned_by(self, userid: str) -> list[Group]:
        """Open groups whose owner (群主) is `userid`."""

    def with_welcome(self) -> list[Group]:
        """Groups that carry a group welcome template (WeCom allows at most 100)."""


class BankCustomerRepo(Protocol):
    """`bank_customers/{id}`: the card-alert path writes conditionally on the version read;
    business events change it once per event in a transaction with their marker."""

    def update_once(
        self,
        event_key: str,
        bank_customer_id: str,
        change: Callable[[BankCustomer | None], BankCustomer],
    ) -> bool: ...

    def get(self, bank_customer_id: str) -> tuple[BankCustomer | None, Any]:
        """The document and an opaque version for save_if_unchanged."""

    def for_alert(self, bank_customer_id: str) -> tuple[BankCustomer | None, Any]:
        """Only what a card alert decides on (groups, invites, the opt-out), and the
        document's version: the hot path's one read, kept small."""

    def record_invite(self, customer: BankCustomer, version: Any) -> bool:
        """Store the customer's invites if the document is still at `version` (None: create
        the whole document); False when it changed or appeared meanwhile."""

    def save_if_unchanged(self, customer: BankCustomer, version: Any) -> bool:
        """Write only if nobody wrote since `version` was read; False otherwise."""

    def link(self, bank_customer_id: str, link: BankCustomerLink, at: datetime) -> BankCustomer:
        """Set the fields the link names (an opt-out change is stamped `at`)."""

    def due(self, now: datetime, limit: int) -> list[tuple[BankCustomer, Any]]:
        """Customers whose next_relayer_at is at or before `now`, earliest first, with
        their versions."""

    def page(self, after: str, limit: int) -> list[tuple[BankCustomer, Any]]:
        """Up to `limit` customers by id after `after`, with their versions."""

    def find_linked(self, external_userids: list[str], unionids: list[str]) -> list[str]:
        """Ids of bank customers linked to any of these WeCom identities."""

    def in_group(self, chat_id: str) -> list[str]: ...

    def set_membership(self, bank_customer_ids: list[str], chat_id: str, member: bool) -> None: ...


class OpsTaskRepo(Protocol):
    def create(self, task: OpsTask) -> bool:
        """Create once by id; False when it already exists."""

    def list_open(self) -> list[OpsTask]: ...


class TagRepo(Protocol):
    def put_many(self, tags: list[CorpTag]) -> None: ...

    def mark_deleted(self, tag_ids: list[str]) -> None: ...

    def mark_group_deleted(self, group_id: str) -> list[str]:
        """Mark every stored tag of the group deleted; returns their ids."""


class ChannelRepo(Protocol):
    def get(self, state: str) -> Channel | None: ...

    def put(self, channel: Channel) -> None: ...

    def all(self) -> list[Channel]: ...


class GroupCodeRepo(Protocol):
    def get(self, code_id: str) -> GroupCode | None: ...

    def put(self, code: GroupCode) -> None: ...

    def all(self) -> list[GroupCode]: ...

    def holding(self, chat_id: str) -> list[GroupCode]:
        """The codes whose join way holds this chat."""


class MediaRepo(Protocol):
    def get(self, asset_id: str) -> MediaAsset | None: ...

    def get_many(self, asset_ids: list[str]) -> dict[str, MediaAsset]: ...

    def put(self, asset: MediaAsset) -> None: ...

    def all(self) -> list[MediaAsset]: ...


class BlobStore(Protocol):
    """Where the library's bytes live: Cloud Storage, or its emulator on the local stack."""

    def put(self, name: str, data: bytes, content_type: str) -> None: ...

    def get(self, name: str) -> bytes: ...


class FollowupRepo(Protocol):
    def create(self, followup: Followup) -> bool:
        """Create once by id; False when it already exists."""

    def due(self, now: datetime, limit: int) -> list[Followup]: ...

    def for_staff(self, staff_userid: str, status: str, limit: int) -> list[Followup]: ...

    def of_customer(self, external_userid: str, limit: int) -> list[Followup]:
        """Every status, by due time."""

    def mark_sent(self, ids: list[str], at: datetime) -> None: ...

    def get(self, followup_id: str) -> Followup | None: ...

    def save(self, followup: Followup) -> None: ...

    def open_of(
        self, external_userid: str, staff_userid: str, reason: FollowupReason
    ) -> list[Followup]:
        """Open or sent (not closed) tasks of one relation and reason."""

    def open_journey(self, bank_customer_id: str, journey: str) -> list[Followup]:
        """Open or sent journey_abandoned tasks of one customer's journey."""


class TagRuleRepo(Protocol):
    def put(self, rule: TagRule) -> None: ...

    def get(self, rule_id: str) -> TagRule | None: ...

    def delete(self, rule_id: str) -> bool:
        """False when there was no such rule."""

    def all(self) -> list[TagRule]: ...


class BackfillRepo(Protocol):
    def start(self, backfill: Backfill) -> None:
        """Store the backfill, replacing (and so stopping) any earlier one of the rule."""

    def get(self, rule_id: str) -> Backfill | None: ...

    def running(self) -> list[Backfill]: ...

    def lease(self, before: Backfill, until: datetime, now: datetime) -> Backfill | None:
        """Hold the next page until `until` if the stored backfill is still at `before`'s
        step and nobody holds it at `now`; the leased backfill, or None."""

    def advance(self, before: Backfill, after: Backfill) -> bool:
        """Replace `before` with `after` if the stored one is still `before` (same generation
        and cursor); False when another run moved it or a new generation started."""


class CampaignRepo(Protocol):
    def put(self, campaign: Campaign) -> None: ...

    def get(self, campaign_id: str) -> Campaign | None: ...

    def enabled(self) -> list[Campaign]: ...

    def all(self) -> list[Campaign]: ...


class CampaignRunRepo(Protocol):
    def create(self, run: CampaignRun) -> bool:
        """Create once by id; False when this occurrence was planned before."""

    def get(self, run_id: str) -> CampaignRun | None: ...

    def update(self, run_id: str, **fields: Any) -> None: ...

    def for_campaign(self, campaign_id: str, limit: int) -> list[CampaignRun]: ...


class AudienceSource(Protocol):
    """Paginated reads of who a campaign reaches; each page a list of targets."""

    def groups(self, audience: GroupAudience) -> Iterator[list[Target]]: ...

    def customers(
        self, audience: CustomerAudience, birthdays: list[str] | None = None
    ) -> Iterator[list[Target]]: ...


class CapLedger(Protocol):
    def claim(self, day: str, run_id: str, targets: list[str]) -> dict[str, str]:
        """Claim each target's one 群发 of `day`; returns the lost ones with the holding run."""

    def of_target(self, target: str, limit: int) -> list[tuple[str, str]]:
        """(day, run id) of the 群发 claimed for a target, newest first (kept 90 days)."""


class CampaignBatchRepo(Protocol):
    def claim(self, record: BatchRecord) -> BatchRecord | None:
        """Create the record; the existing one (never None) if it was there already."""

    def save(self, record: BatchRecord) -> None: ...

    def following(self, limit: int) -> list[BatchRecord]:
        """Batches sent to WeCom whose results are not final yet."""

    def for_run(self, run_id: str) -> list[BatchRecord]: ...


class CalendarRepo(Protocol):
    def put(self, year: OfficialYear) -> None: ...

    def all(self) -> list[OfficialYear]: ...


class GroupMessenger(Protocol):
    """WeCom's 群发: a task each staff member confirms in the client."""

    def add_msg_template(
        self,
        chat_type: str,
        sender: str,
        targets: list[str],
        text: str,
        attachments: list[dict[str, Any]],
    ) -> tuple[str, list[str]]:
        """Returns (msgid, the targets WeCom could not take)."""

    def get_groupmsg_task(self, msgid: str) -> list[GroupMsgTask]:
        """TransientError while WeCom is still creating the task (41063)."""

    def get_groupmsg_send_result(self, msgid: str, userid: str) -> list[GroupMsgSend]: ...

    def remind_groupmsg_send(self, msgid: str) -> None:
        """ReminderLimit when the reminders allowed are used up (41094)."""

    def cancel_groupmsg_send(self, msgid: str) -> None:
        """Stop what staff have not sent yet; what they sent stays sent (97611)."""


class TransferApi(Protocol):
    def transfer_customer(
        self, resigned: bool, handover: str, takeover: str, external_userids: list[str]
    ) -> dict[str, int]: ...

    def transfer_result(
        self, resigned: bool, handover: str, takeover: str
    ) -> list[TransferResult]: ...

    def transfer_group_chats(
        self, resigned: bool, chat_ids: list[str], new_owner: str
    ) -> dict[str, int]:
        """≤ 100 chats (92127, 95703); the errcode of each chat not handed over."""


class TransferRepo(Protocol):
    def put(self, transfer: Transfer) -> None: ...

    def get(self, transfer_id: str) -> Transfer | None: ...

    def recent(self, limit: int) -> list[Transfer]:
        """Newest first."""


class FunnelStore(Protocol):
    def record(self, milestone: MilestoneRecord) -> bool:
        """Create once by id, and count it into its day's tallies; False when it exists."""

    def tallies(self, by: Dimension, first: date, last: date) -> list[Tally]:
        """Every tally of the dimension for the days first..last, inclusive."""

    def milestones(self, start: datetime, end: datetime) -> list[MilestoneRecord]:
        """Those with start <= at < end."""

    def put_tallies(self, tallies: list[Tally]) -> None:
        """Replace these tallies whole."""


class AppMessenger(Protocol):
    def send_text(self, touser: str, text: str) -> AppMessageResult:
        """A WeCom application message to one staff member; NoValidRecipient when WeCom
        knows no such member in the app's scope (81013)."""


class ReferralRepo(Protocol):
    """Referral state, moved only by create() and version-conditioned batches with atomic
    increments: exactly once without a transaction (contended ones crawl on the emulator)."""

    def code_of(self, bank_customer_id: str) -> str | None: ...

    def create_code(self, bank_customer_id: str, code: str) -> str:
        """Store the code unless the customer has one already; return the customer's code."""

    def owner_of(self, code: str) -> str | None: ...

    def first_card_event(self, bank_customer_id: str, event_id: str, opened_at: datetime) -> str:
        """Record the customer's first card opening; return its event id (maybe an earlier one)."""

    def claim_hash(self, kind: str, value: str, referee: str, limit: int) -> bool:
        """Count the referee among at most `limit` referees of a device or phone hash."""

    def get_invite(self, referee: str) -> tuple[Invite | None, Any]: ...

    def create_invite(self, invite: Invite) -> bool:
        """Create a decided (rejected) invite; False if the referee already has one."""

    def reserve(self, invite: Invite) -> tuple[int, Any] | None:
        """Create the pending invite and take the next place in the referrer's day.

        Returns (day ordinal, version), or None if the referee already has an invite."""

    def re_reserve(self, invite: Invite, version: Any) -> tuple[int, Any] | None:
        """Take a new place for a pending invite whose crediter died; None if it moved on."""

    def credit(self, invite: Invite, version: Any) -> int | None:
        """Mark credited and count it for the referrer: the referrer's n-th credited invite.
        None if the invite changed since `version`."""

    def reject(self, invite: Invite, version: Any) -> bool: ...

    def record_attempt(self, attempt: InviteAttempt) -> None: ...

    def successful_invites(self, referrer: str) -> int: ...

    def grant(self, reward: Reward) -> bool:
        """Create the reward; False if it was granted before."""

    def rewards(self, referrer: str) -> list[Reward]: ...

    def mark_published(self, reward_id: str, at: datetime) -> None: ...


class MessagePublisher(Protocol):
    def send(self, message: BaseModel, ordering_key: str = "", **attributes: str) -> str:
        """Publish and wait for the server's message id; raise TransientError on failure."""


class EventPublisher(Protocol):
    def publish(self, event: WeComEvent) -> str:
        """Publish and wait for the server's message id; raise TransientError on failure."""

    def dead_letter(self, payload: bytes, reason: str) -> None: ...


class Topic(MessagePublisher, EventPublisher, Protocol):
    """One Pub/Sub topic with its dead-letter topic."""


class FailureCounter(Protocol):
    def failed(self, key: str) -> int:
        """Count one more failed delivery of `key`; returns the failures so far."""


class WeComApi(Protocol):
    def get_external_contact(self, external_userid: str) -> ExternalContact:
        """Every follower, across `next_cursor` pages."""

    def send_welcome_msg(
        self,
        welcome_code: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> WelcomeOutcome:
        """SENT (0 or 41051), EXPIRED (41050) or BUSY (41096); raise for anything else."""

    def mark_tag(
        self, userid: str, external_userid: str, add: list[str], remove: list[str] | None = None
    ) -> None: ...

    def get_corp_tag_list(
        self, tag_ids: list[str] | None = None, group_ids: list[str] | None = None
    ) -> list[CorpTag]: ...

    def add_corp_tag(self, group_name: str, names: list[str]) -> list[CorpTag]: ...

    def get_group_chat(self, chat_id: str) -> GroupChat: ...

    def add_join_way(self, chat_ids: list[str], state: str, remark: str) -> str:
        """Create a group QR join way for ≤ 5 chats; returns its config_id."""

    def update_join_way(
        self, config_id: str, chat_ids: list[str], state: str, remark: str
    ) -> None: ...

    def get_join_way(self, config_id: str) -> JoinWay: ...


class ContactWays(Protocol):
    """联系我 QR codes (92228)."""

    def add_contact_way(self, way: ContactWay) -> tuple[str, str]:
        """(config_id, qr_code); ContactWayLimit when the corp's quota is used up."""

    def update_contact_way(self, config_id: str, way: ContactWay) -> None: ...

    def del_contact_way(self, config_id: str) -> bool:
        """False when WeCom knew no such way."""


class MediaUploader(Protocol):
    def upload_media(
        self, kind: str, filename: str, data: bytes, content_type: str
    ) -> UploadedMedia: ...


class WelcomeTemplates(Protocol):
    """Group welcome templates (92366)."""

    def add_group_welcome_template(self, text: str, attachment: dict[str, Any] | None) -> str:
        """The template_id; TemplateLimit at WeCom's limit (41055)."""

    def edit_group_welcome_template(
        self, template_id: str, text: str, attachment: dict[str, Any] | None
    ) -> None: ...


class WeCom(
    WeComApi, GroupMessenger, TransferApi, ContactWays, MediaUploader, WelcomeTemplates, Protocol
):
    """Everything siyu asks of WeCom with the customer-contact secret."""


# -- ops identity ---------------------------------------------------------------------------


class LoginVerifier(Protocol):
    def login_identity(self, code: str) -> LoginIdentity:
        """Who a WeCom web login's code belongs to (98176)."""


class GrantRepo(Protocol):
    def get(self, identity: str) -> Grant | None: ...

    def put(self, grant: Grant) -> None: ...

    def all(self) -> list[Grant]: ...


class BranchRepo(Protocol):
    def put(self, branch: Branch) -> None: ...

    def all(self) -> list[Branch]: ...


class StaffRepo(Protocol):
    def put(self, staff: Staff) -> None: ...

    def get_many(self, userids: list[str]) -> dict[str, Staff]: ...

    def all(self) -> list[Staff]: ...


class SessionRepo(Protocol):
    def create(self, session: Session) -> None: ...

    def get(self, session_id: str) -> Session | None: ...

    def touch(self, session_id: str, at: datetime) -> None: ...

    def delete(self, session_id: str) -> None: ...


class IdempotencyRepo(Protocol):
    def start(self, call: IdempotentCall) -> IdempotentCall | None:
        """None when this call claimed the key, else the call that holds it."""

    def finish(self, call_id: str, status: int, body: str) -> None: ...

    def release(self, call_id: str) -> None: ...


class AuditLog(Protocol):
    def append(self, entry: AuditEntry) -> bool:
        """Create the entry; False when this id was appended before."""

    def query(self, q: AuditQuery) -> list[AuditEntry]: ...


class DeadLetterGauge(Protocol):
    def waiting(self, topic: str, limit: int) -> int | None:
        """Messages in `<topic>-dlq` (up to `limit`), left where they are; None when its
        subscription is missing."""


class TickLog(Protocol):
    def beat(self, seen: TickSeen) -> None: ...

    def all(self) -> list[TickSeen]: ...


class PersonalData(Protocol):
    def find(self, collection: str, locate: Locate, identifier: str) -> list[Found]: ...

    def delete(self, collection: str, doc_id: str) -> None: ...

    def replace(self, collection: str, doc_id: str, data: dict[str, Any]) -> None: ...

    def token(self, kind: str, identifier: str) -> str: ...

    def keep_receipt(self, receipt: Receipt) -> None: ...

    def ended_before(self, cutoff: datetime, after: str, limit: int) -> list[str]:
        """external_userids of customers whose every relation ended before `cutoff`."""


class GroupDirectoryStore(Protocol):
    """`group_directory/`: the snapshot of every group a new card-alert instance starts from."""

    def manifest(self) -> Manifest | None: ...

    def parts(self, manifest: Manifest) -> list[bytes]:
        """The snapshot's parts, in order; raises TransientError when one is gone."""

    def publish(self, manifest: Manifest, parts: list[bytes], previous: Manifest | None) -> None:
        """Write the parts, then point the manifest at them; versions older than `previous`
        (the one it replaces, which readers may still be reading) are deleted."""
