"""on_wecom_event's use case: apply each contact, chat and tag change to siyu's state once."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.domain import customers as cust
from siyu.domain.customers import Customer, CustomerTag, RelationStatus, TagSource
from siyu.domain.errors import DomainError, TransientError
from siyu.domain.events import (
    ChatChange,
    ChatDetail,
    ContactChange,
    EventKind,
    TagChange,
    TagType,
    WeComEvent,
    WelcomeState,
)
from siyu.domain.followups import (
    Cadence,
    Followup,
    FollowupReason,
    followup_id,
    reach_back_staff,
    revisits,
)
from siyu.domain.funnel import Milestone
from siyu.domain.groups import Group, GroupStatus, apply_member_change, trusts_delta
from siyu.domain.wecom import GroupDismissed, GroupUnreadable
from siyu.domain.welcome import WelcomeStatus
from siyu.logging import log
from siyu.ports import (
    BankCustomerRepo,
    ChannelRepo,
    Clock,
    CustomerRepo,
    FollowupRepo,
    GroupRepo,
    MessagePublisher,
    TagRepo,
    WeComApi,
)
from siyu.services.customer_profile import send_tag_sync
from siyu.services.followups import FollowupBook
from siyu.services.funnel import FunnelTracker
from siyu.services.group_codes import GroupCodes
from siyu.services.welcome import WelcomeSender

logger = logging.getLogger(__name__)

Handler = Callable[[WeComEvent], bool]


class WeComEventProcessor:
    def __init__(
        self,
        wecom: WeComApi,
        customers: CustomerRepo,
        groups: GroupRepo,
        tags: TagRepo,
        channels: ChannelRepo,
        followups: FollowupRepo,
        welcome: WelcomeSender,
        bank_customers: BankCustomerRepo,
        clock: Clock,
        cadence: list[Cadence],
        funnel: FunnelTracker,
        book: FollowupBook,
        tag_sync: MessagePublisher,
        group_codes: GroupCodes,
    ) -> None:
        self._wecom = wecom
        self._customers = customers
        self._groups = groups
        self._tags = tags
        self._channels = channels
        self._followups = followups
        self._welcome = welcome
        self._bank_customers = bank_customers
        self._clock = clock
        self._cadence = cadence
        self._funnel = funnel
        self._book = book
        self._tag_sync = tag_sync
        self._group_codes = group_codes
        # One handler per (Event, ChangeType) of 92130; adding a kind is one line here.
        self._routes: dict[tuple[str, str], Handler] = {
            (EventKind.CONTACT, ContactChange.ADD): self._add,
            (EventKind.CONTACT, ContactChange.ADD_HALF): self._add,
            (EventKind.CONTACT, ContactChange.EDIT): self._edit,
            (EventKind.CONTACT, ContactChange.DELETE): self._deleted,
            (EventKind.CONTACT, ContactChange.LOST): self._lost,
            (EventKind.CONTACT, ContactChange.TRANSFER_FAIL): self._transfer_fail,
            (EventKind.CONTACT, ContactChange.MSG_AUDIT_APPROVED): self._msg_audit_approved,
            (EventKind.CHAT, ChatChange.CREATE): self._chat_guarded(self._chat_refresh),
            (EventKind.CHAT, ChatChange.UPDATE): self._chat_guarded(self._chat_update),
            (EventKind.CHAT, ChatChange.DISMISS): self._chat_dismiss,
            (EventKind.TAG, TagChange.CREATE): self._tag_refresh,
            (EventKind.TAG, TagChange.UPDATE): self._tag_refresh,
            (EventKind.TAG, TagChange.DELETE): self._tag_delete,
            (EventKind.TAG, TagChange.SHUFFLE): self._tag_refresh,
        }

    def handle(self, event: WeComEvent) -> bool:
        """Apply the event; False if applied before or not ours to apply. TransientError
        asks for redelivery."""
        route = self._routes.get((event.event, event.change_type))
        if route is None:
            log(
                logger,
                logging.INFO,
                "unmapped event acknowledged",
                wecom_event=event.event,
                change_type=event.change_type,
            )
            return False
        return route(event)

    # -- contacts -----------------------------------------------------------------

    @staticmethod
    def _at(event: WeComEvent) -> datetime:
        return datetime.fromtimestamp(event.create_time, UTC)

    def _edit(self, event: WeComEvent) -> bool:
        manual = self._manual_tags(event)
        at = self._at(event)
        return self._apply(event, lambda c: cust.replace_manual_tags(c, manual, at))

    def _deleted(self, event: WeComEvent) -> bool:
        # DELETE_BY_TRANSFER: the customer moved to another member; not a loss (92130).
        status = (
            RelationStatus.TRANSFERRED
            if event.source == "DELETE_BY_TRANSFER"
            else RelationStatus.DELETED
        )
        at = self._at(event)
        applied = self._apply(event, lambda c: cust.set_status(c, event.user_id, status, at))
        self._ended(event, "员工已删除客户")
        if status is RelationStatus.DELETED:
            self._note_end(event, Milestone.DELETED, at)
        return applied

    def _lost(self, event: WeComEvent) -> bool:
        at = self._at(event)
        applied = self._apply(
            event, lambda c: cust.set_status(c, event.user_id, RelationStatus.LOST, at)
        )
        self._raise_followup(event, FollowupReason.LOST_CUSTOMER, at)
        self._ended(event, "客户已删除员工")
        self._note_end(event, Milestone.LOST, at)
        return applied

    def _ended(self, event: WeComEvent, why: str) -> None:
        """A relation that ended has nobody left to revisit."""
        self._book.cancel_revisits(event.external_user_id, event.user_id, why)

    def _note_end(self, event: WeComEvent, milestone: Milestone, at: datetime) -> None:
        """Counted under the channel and staff member that brought the relation."""
        ended = self._customers.get(event.external_user_id)
        relation = ended.relation(event.user_id) if ended else None
        dims = self._funnel.of_state(relation.state if relation else "", event.user_id)
        self._funnel.note(milestone, event.dedupe_key, at, dims, event.external_user_id)

    def _transfer_fail(self, event: WeComEvent) -> bool:
        """UserID is the member whose takeover failed (92130): the customer stays with the
        member who served them, who is asked to follow up; the failed member gets nothing."""
        at = self._at(event)
        applied = self._apply(
            event, lambda c: cust.transfer_failed(c, event.user_id, event.fail_reason, at)
        )
        self._raise_followup(event, FollowupReason.TRANSFER_FAILED, at)
        return applied

    def _msg_audit_approved(self, event: WeComEvent) -> bool:
        """92005: consent to chat archiving. siyu keeps no chat archive, so nothing to do."""
        log(
            logger,
            logging.INFO,
            "msg_audit_approved ignored: siyu does not archive chats",
            external_userid=event.external_user_id,
        )
        return False

    def _add(self, event: WeComEvent) -> bool:
        at = self._at(event)
        # The welcome window is the tightest deadline: serve it before anything else.
        welcomed = event.welcome is WelcomeState.SENT
        if event.welcome is WelcomeState.PENDING:
            welcomed = self._welcome_fallback(event)
        channel = self._channels.get(event.state) if event.state else None
        channel_tags: list[CustomerTag] = []
        if channel and channel.tag_ids:
            # mark_tag is idempotent in WeCom; WeCom sends no callback for it, so we
            # record the tags ourselves in the same transaction as the relation.
            self._wecom.mark_tag(event.user_id, event.external_user_id, add=channel.tag_ids)
            refs = channel.tag_refs()
            channel_tags = [
                CustomerTag(
                    id=tid,
                    name=refs[tid].name if tid in refs else "",
                    group=refs[tid].group if tid in refs else "",
                    source=TagSource.CHANNEL,
                )
                for tid in channel.tag_ids
            ]
        name = self._contact_name(event.external_user_id)
        half = event.change_type == ContactChange.ADD_HALF

        def change(c: Customer | None) -> Customer:
            base = c or cust.new_customer(event.external_user_id, at)
            if name:
                base = base.model_copy(update={"name": name})
            base = cust.add_relation(base, event.user_id, event.state, at, half=half)
            return cust.merge_tags(base, channel_tags, at)

        # Revisits at +3 d and +7–10 d for a relation that is new (not for a half add turning
        # into a full one). Created first, with ids from the event: a redelivery after a crash
        # creates them again, idempotently, before the relation is recorded.
        current = self._customers.get(event.external_user_id)
        known = current.relation(event.user_id) if current else None
        new_relation = known is None or known.status is not RelationStatus.ACTIVE
        if new_relation:
            for task in revisits(
                event.external_user_id, event.user_id, at, self._cadence, event.dedupe_key
            ):
                self._followups.create(task)
        applied = self._customers.update_once(event.dedupe_key, event.external_user_id, change)
        if new_relation:
            self._earned_tags_follow(event.external_user_id)
        # Funnel milestones, once per relation and channel (a half add becoming full is one).
        dims = self._funnel.of_channel(channel, event.user_id)  # the channel read above
        subject = f"{event.external_user_id}|{event.user_id}|{event.state}"
        who = event.external_user_id
        self._funnel.note(Milestone.ADDED, subject, at, dims, who)
        if welcomed:
            self._funnel.note(Milestone.WELCOMED, subject, at, dims, who)
        return applied

    def _earned_tags_follow(self, external_userid: str) -> None:
        """A new (or re-added) relation gets the rule and layer tags the customer already
        holds: tag-sync pushes to each active relation what it does not have yet."""
        for bank_customer_id in self._bank_customers.find_linked([external_userid], []):
            send_tag_sync(self._tag_sync, bank_customer_id)

    def _welcome_fallback(self, event: WeComEvent) -> bool:
        """True once the welcome is sent (by whoever held the code); False if it expired."""
        claim = self._welcome.try_send(event, "worker", budget_s=float("inf"))
        if claim.status is WelcomeStatus.HANDED_OFF:
            raise TransientError("welcome send failed; retrying while the window is open")
        if not claim.granted and claim.status is WelcomeStatus.SENDING:
            raise TransientError("the callback is still sending the welcome; check again")
        return claim.status is WelcomeStatus.SENT

    def _contact_name(self, external_userid: str) -> str:
        """The name is enrichment: a contact WeCom no longer knows must not block the add."""
        try:
            contact = self._wecom.get_external_contact(external_userid)
        except TransientError:
            raise
        except DomainError as exc:
            log(logger, logging.WARNING, "contact not readable", error=str(exc))
            return ""
        return contact.external_contact.name

    def _manual_tags(self, event: WeComEvent) -> list[CustomerTag]:
        """Read the staff member's current corp tags for the customer from WeCom."""
        follower = self._wecom.get_external_contact(event.external_user_id).follower(event.user_id)
        return [
            CustomerTag(id=t.tag_id, name=t.tag_name, group=t.group_name, source=TagSource.MANUAL)
            for t in (follower.corp_tags() if follower else [])
        ]

    def _apply(self, event: WeComEvent, change: Callable[[Customer], Customer]) -> bool:
        at = self._at(event)
        return self._customers.update_once(
            event.dedupe_key,
            event.external_user_id,
            lambda c: change(c or cust.new_customer(event.external_user_id, at)),
        )

    def _raise_followup(self, event: WeComEvent, reason: FollowupReason, at: datetime) -> None:
        customer = self._customers.get(event.external_user_id)
        active = [
            r.staff_userid
            for r in (customer.active_relations() if customer else [])
            if r.staff_userid != event.user_id
        ]
        fid = hashlib.sha256(f"{reason}|{event.dedupe_key}".encode()).hexdigest()[:32]
        created = self._followups.create(
            Followup(
                id=fid,
                external_userid=event.external_user_id,
                staff_userid=reach_back_staff(event.user_id, active),
                reason=reason,
                detail=f"{event.change_type} by {event.user_id} {event.fail_reason}".strip(),
                due_at=at + timedelta(hours=1),
            )
        )
        if created:
            log(
                logger,
                logging.WARNING,
                "follow-up raised",
                reason=reason,
                external_userid=event.external_user_id,
            )

    # -- groups -------------------------------------------------------------------

    def _chat_guarded(self, handler: Handler) -> Handler:
        """groupchat/get answers that no retry can change end the event here (90313)."""

        def guarded(event: WeComEvent) -> bool:
            try:
                return handler(event)
            except GroupDismissed:
                log(logger, logging.INFO, "group dismissed in WeCom", chat_id=event.chat_id)
                return self._chat_dismiss(event)
            except GroupUnreadable as exc:
                log(
                    logger,
                    logging.WARNING,
                    "group not readable; event acknowledged",
                    chat_id=event.chat_id,
                    error=str(exc),
                )
                return False

        return guarded

    def _chat_dismiss(self, event: WeComEvent) -> bool:
        at = self._at(event)
        applied = self._groups.update_once(
            event.dedupe_key,
            event.chat_id,
            lambda g: (g or Group(chat_id=event.chat_id, updated_at=at)).model_copy(
                update={"status": GroupStatus.DISMISSED, "updated_at": at}
            ),
        )
        self._codes_follow(event.chat_id)
        return applied

    def _codes_follow(self, chat_id: str) -> None:
        """A benefit group filled up, made room or is gone: the group codes move with it.
        Also on a redelivery (settling is idempotent), so a failed move is retried."""
        group = self._groups.get(chat_id)
        if group is not None and group.is_benefit_group:
            self._group_codes.group_changed(group)

    def _chat_update(self, event: WeComEvent) -> bool:
        if event.update_detail in (ChatDetail.ADD_MEMBER, ChatDetail.DEL_MEMBER):
            return self._members_changed(event)
        return self._chat_refresh(event)

    def _chat_refresh(self, event: WeComEvent) -> bool:
        """create, change_owner/name/notice: WeCom's view is the truth for name, owner and
        members; the registry fields (place, kind, join way) stay siyu's."""
        fresh = self._read_group(event.chat_id, self._at(event))
        return self._groups.update_once(
            event.dedupe_key,
            event.chat_id,
            lambda g: g.model_copy(update=_wecom_fields(fresh)) if g else fresh,
        )

    def _members_changed(self, event: WeComEvent) -> bool:
        """A delta on top of the version it was made from; otherwise WeCom's count (92130)."""
        at = self._at(event)
        joined = event.update_detail == ChatDetail.ADD_MEMBER
        stored = self._groups.get(event.chat_id)
        if trusts_delta(stored, event.last_mem_ver):
            assert stored is not None
            known = stored
            count, version = event.mem_change_cnt or 0, event.cur_mem_ver

            def change(g: Group | None) -> Group:
                return apply_member_change(g or known, event.update_detail, count, at, version)
        else:
            # Unknown group or a version gap: WeCom's member list already holds this change.
            fresh = self._read_group(event.chat_id, at)
            known = stored.model_copy(update=_wecom_fields(fresh)) if stored else fresh

            def change(g: Group | None) -> Group:
                return g.model_copy(update=_wecom_fields(fresh)) if g else fresh

        if known.is_benefit_group:
            self._sync_membership(event, joined=joined)
            if joined:
                self._note_joins(event, known, at)
        if not joined:
            self._reach_back_leavers(event, at)
        applied = self._groups.update_once(event.dedupe_key, event.chat_id, change)
        self._codes_follow(event.chat_id)
        return applied

    def _read_group(self, chat_id: str, at: datetime) -> Group:
        chat = self._wecom.get_group_chat(chat_id)
        return Group(
            chat_id=chat_id,
            name=chat.name,
            owner_userid=chat.owner,
            member_count=len(chat.member_list),
            member_version=chat.member_version,
            updated_at=at,
        )

    def _note_joins(self, event: WeComEvent, group: Group, at: datetime) -> None:
        """Joined a benefit group: counted for how the customer came, in the group's city."""
        for external_userid in event.mem_change_list:
            dims = self._funnel.of_customer(self._customers.get(external_userid))
            if group.city:
                dims = dims.model_copy(update={"city": group.city})
            subject = f"{event.chat_id}|{external_userid}"
            self._funnel.note(Milestone.JOINED_GROUP, subject, at, dims, external_userid)

    def _reach_back_leavers(self, event: WeComEvent, at: datetime) -> None:
        """A customer who left a group but is still someone's contact: ask them to re-reach."""
        for external_userid in event.mem_change_list:
            customer = self._customers.get(external_userid)
            owner = customer.owner() if customer else None
            if owner is None:
                continue
            self._followups.create(
                Followup(
                    id=followup_id("left", event.dedupe_key, external_userid),
                    external_userid=external_userid,
                    staff_userid=owner.staff_userid,
                    reason=FollowupReason.LEFT_GROUP,
                    detail=f"退出群聊 {event.chat_id}",
                    due_at=at,
                )
            )

    def _sync_membership(self, event: WeComEvent, joined: bool) -> None:
        """Mark bank customers linked to the members who joined or left a benefit group.

        Array union/remove is idempotent, so a redelivered event changes nothing twice.
        """
        chat_id = event.chat_id
        if event.mem_change_list:
            linked = self._bank_customers.find_linked(list(event.mem_change_list), [])
            self._bank_customers.set_membership(linked, chat_id, member=joined)
            return
        # Older callbacks do not say who: compare WeCom's member list with siyu's.
        members = self._wecom.get_group_chat(chat_id).external_members()
        present = self._bank_customers.find_linked(
            [m.userid for m in members], [m.unionid for m in members if m.unionid]
        )
        if joined:
            self._bank_customers.set_membership(present, chat_id, member=True)
        else:
            gone = sorted(set(self._bank_customers.in_group(chat_id)) - set(present))
            self._bank_customers.set_membership(gone, chat_id, member=False)

    # -- corp tags (92130, 92117) ---------------------------------------------------

    def _tag_refresh(self, event: WeComEvent) -> bool:
        """Read what changed: a tag by `tag_id`, a tag group by `group_id` (with all its
        tags); a shuffle without Id reorders everything."""
        if not event.tag_id:
            self._tags.put_many(self._wecom.get_corp_tag_list())
        elif event.tag_type == TagType.TAG_GROUP or event.change_type == TagChange.SHUFFLE:
            self._tags.put_many(self._wecom.get_corp_tag_list(group_ids=[event.tag_id]))
        else:
            self._tags.put_many(self._wecom.get_corp_tag_list([event.tag_id]))
        return True

    def _tag_delete(self, event: WeComEvent) -> bool:
        """Deleting a group deletes its tags without a callback per tag (92130)."""
        if event.tag_type == TagType.TAG_GROUP:
            gone = self._tags.mark_group_deleted(event.tag_id)
            log(logger, logging.INFO, "tag group deleted", group_id=event.tag_id, tags=len(gone))
        else:
            self._tags.mark_deleted([event.tag_id])
        return True


def _wecom_fields(fresh: Group) -> dict[str, Any]:
    return {
        "name": fresh.name,
        "owner_userid": fresh.owner_userid,
        "member_count": fresh.member_count,
        "member_version": fresh.member_version,
        "updated_at": fresh.updated_at,
    }
