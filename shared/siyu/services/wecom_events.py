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
from siyu.domain.events import WeComEvent, WelcomeState
from siyu.domain.followups import (
    Cadence,
    Followup,
    FollowupReason,
    followup_id,
    reach_back_staff,
    revisits,
)
from siyu.domain.funnel import Milestone
from siyu.domain.groups import Group, GroupStatus, apply_member_change
from siyu.domain.welcome import WelcomeStatus
from siyu.logging import log
from siyu.ports import (
    BankCustomerRepo,
    ChannelRepo,
    Clock,
    CustomerRepo,
    FollowupRepo,
    GroupRepo,
    TagRepo,
    WeComApi,
)
from siyu.services.funnel import FunnelBook
from siyu.services.welcome import WelcomeSender

logger = logging.getLogger(__name__)

_ADD = {"add_external_contact", "add_half_external_contact"}


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
        funnel: FunnelBook,
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

    def handle(self, event: WeComEvent) -> bool:
        """Apply the event; False if applied before. TransientError asks for redelivery."""
        if event.event == "change_external_contact":
            return self._contact(event)
        if event.event == "change_external_chat":
            return self._chat(event)
        return self._tag(event)

    # -- contacts -----------------------------------------------------------------

    def _contact(self, event: WeComEvent) -> bool:
        at = datetime.fromtimestamp(event.create_time, UTC)
        kind = event.change_type
        if kind in _ADD:
            return self._add(event, at)
        if kind == "edit_external_contact":
            manual = self._manual_tags(event)
            return self._apply(event, lambda c: cust.replace_manual_tags(c, manual, at))
        if kind == "del_external_contact":
            status = (
                RelationStatus.TRANSFERRED
                if event.source == "DELETE_BY_TRANSFER"
                else RelationStatus.DELETED
            )
            return self._apply(event, lambda c: cust.set_status(c, event.user_id, status, at))
        if kind == "del_follow_user":
            applied = self._apply(
                event, lambda c: cust.set_status(c, event.user_id, RelationStatus.LOST, at)
            )
            self._raise_followup(event, FollowupReason.LOST_CUSTOMER, at)
            lost = self._customers.get(event.external_user_id)
            relation = lost.relation(event.user_id) if lost else None
            dims = self._funnel.of_state(relation.state if relation else "", event.user_id)
            self._funnel.note(Milestone.LOST, event.dedupe_key, at, dims)
            return applied
        if kind == "transfer_fail":
            applied = self._apply(
                event,
                lambda c: cust.set_status(
                    c,
                    event.user_id,
                    RelationStatus.ACTIVE,
                    at,
                    transfer_fail_reason=event.fail_reason,
                ),
            )
            self._raise_followup(event, FollowupReason.TRANSFER_FAILED, at)
            return applied
        log(logger, logging.WARNING, "unknown contact change ignored", change_type=kind)
        return False

    def _add(self, event: WeComEvent, at: datetime) -> bool:
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
        half = event.change_type == "add_half_external_contact"

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
        if known is None or known.status is not RelationStatus.ACTIVE:
            for task in revisits(
                event.external_user_id, event.user_id, at, self._cadence, event.dedupe_key
            ):
                self._followups.create(task)
        applied = self._customers.update_once(event.dedupe_key, event.external_user_id, change)
        # Funnel milestones, once per relation and channel (a half add becoming full is one).
        dims = self._funnel.of_channel(channel, event.user_id)  # the channel read above
        subject = f"{event.external_user_id}|{event.user_id}|{event.state}"
        self._funnel.note(Milestone.ADDED, subject, at, dims)
        if welcomed:
            self._funnel.note(Milestone.WELCOMED, subject, at, dims)
        return applied

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
        return str(contact.get("external_contact", {}).get("name", ""))

    def _manual_tags(self, event: WeComEvent) -> list[CustomerTag]:
        """Read the staff member's current corp tags for the customer from WeCom."""
        contact = self._wecom.get_external_contact(event.external_user_id)
        follow: dict[str, Any] = next(
            (f for f in contact.get("follow_user", []) if f.get("userid") == event.user_id), {}
        )
        return [
            CustomerTag(
                id=t["tag_id"],
                name=t.get("tag_name", ""),
                group=t.get("group_name", ""),
                source=TagSource.MANUAL,
            )
            for t in follow.get("tags", [])
            if t.get("type") == 1 and t.get("tag_id")
        ]

    def _apply(self, event: WeComEvent, change: Callable[[Customer], Customer]) -> bool:
        at = datetime.fromtimestamp(event.create_time, UTC)
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

    def _chat(self, event: WeComEvent) -> bool:
        at = datetime.fromtimestamp(event.create_time, UTC)
        detail = event.update_detail
        if event.change_type == "dismiss":
            return self._groups.update_once(
                event.dedupe_key,
                event.chat_id,
                lambda g: (g or Group(chat_id=event.chat_id, updated_at=at)).model_copy(
                    update={"status": GroupStatus.DISMISSED, "updated_at": at}
                ),
            )
        if event.change_type == "update" and detail in {"add_member", "del_member"}:
            count = event.mem_change_cnt or 0
            # A group first seen through a member change is read from WeCom outside the
            # transaction, which may run more than once.
            known = self._groups.get(event.chat_id) or self._read_group(event.chat_id, at)
            if known.is_benefit_group:
                self._sync_membership(event, joined=detail == "add_member")
                if detail == "add_member":
                    self._note_joins(event, known, at)
            if detail == "del_member":
                self._reach_back_leavers(event, at)
            return self._groups.update_once(
                event.dedupe_key,
                event.chat_id,
                lambda g: apply_member_change(g or known, detail, count, at),
            )
        # create, change_owner, change_name, change_notice: WeCom's view is the truth for
        # name, owner and members; the registry fields (place, kind, join way) stay siyu's.
        fresh = self._read_group(event.chat_id, at)
        return self._groups.update_once(
            event.dedupe_key,
            event.chat_id,
            lambda g: g.model_copy(update=_wecom_fields(fresh)) if g else fresh,
        )

    def _read_group(self, chat_id: str, at: datetime) -> Group:
        chat = self._wecom.get_group_chat(chat_id).get("group_chat", {})
        return Group(
            chat_id=chat_id,
            name=chat.get("name", ""),
            owner_userid=chat.get("owner", ""),
            member_count=len(chat.get("member_list", [])),
            updated_at=at,
        )

    def _note_joins(self, event: WeComEvent, group: Group, at: datetime) -> None:
        """Joined a benefit group: counted for how the customer came, in the group's city."""
        for external_userid in event.mem_change_list:
            dims = self._funnel.of_customer(self._customers.get(external_userid))
            if group.city:
                dims = dims.model_copy(update={"city": group.city})
            subject = f"{event.chat_id}|{external_userid}"
            self._funnel.note(Milestone.JOINED_GROUP, subject, at, dims)

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
        members = [
            m
            for m in self._wecom.get_group_chat(chat_id)
            .get("group_chat", {})
            .get("member_list", [])
            if m.get("type") == 2  # external contacts; 1 would be staff
        ]
        present = self._bank_customers.find_linked(
            [m.get("userid", "") for m in members], [m.get("unionid", "") for m in members]
        )
        if joined:
            self._bank_customers.set_membership(present, chat_id, member=True)
        else:
            gone = sorted(set(self._bank_customers.in_group(chat_id)) - set(present))
            self._bank_customers.set_membership(gone, chat_id, member=False)

    # -- corp tags ----------------------------------------------------------------

    def _tag(self, event: WeComEvent) -> bool:
        if event.change_type == "delete" and event.tag_id:
            self._tags.mark_deleted([event.tag_id])
            return True
        ids = [event.tag_id] if event.tag_id and event.change_type != "shuffle" else None
        self._tags.put_many(self._wecom.get_corp_tag_list(ids))
        return True


def _wecom_fields(fresh: Group) -> dict[str, Any]:
    return {
        "name": fresh.name,
        "owner_userid": fresh.owner_userid,
        "member_count": fresh.member_count,
        "updated_at": fresh.updated_at,
    }
