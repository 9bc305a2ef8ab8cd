"""on_biz_event's profile use case: purchases, profile, questionnaires, journeys and consent
become facts, a lifecycle stage, an RFM segment and earned tags, once per event."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from siyu.domain import bank_customers as bc
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.biz_events import BizEvent, JourneyAbandoned, JourneyCompleted
from siyu.domain.followups import Followup, FollowupReason, followup_id
from siyu.domain.tags import TagSyncRequest
from siyu.logging import log
from siyu.ports import BankCustomerRepo, Clock, CustomerRepo, FollowupRepo, MessagePublisher

if TYPE_CHECKING:
    from siyu.services.followups import FollowupBook
    from siyu.services.layering import CustomerLayering

logger = logging.getLogger(__name__)


def request_tag_sync(topic: MessagePublisher, customer: BankCustomer) -> bool:
    """Ask on_tag_sync to push the customer's earned tags; only a linked customer has any
    WeCom relation to push to."""
    if not customer.external_userid:
        return False
    send_tag_sync(topic, customer.bank_customer_id)
    return True


def send_tag_sync(topic: MessagePublisher, bank_customer_id: str) -> None:
    """One tag-sync message, ordered per bank customer."""
    topic.send(
        TagSyncRequest(bank_customer_id=bank_customer_id), f"bank_customer:{bank_customer_id}"
    )


class ProfileService:
    def __init__(
        self,
        bank_customers: BankCustomerRepo,
        customers: CustomerRepo,
        followups: FollowupRepo,
        book: FollowupBook,
        layering: CustomerLayering,
        tag_sync: MessagePublisher,
        clock: Clock,
    ) -> None:
        self._bank_customers = bank_customers
        self._customers = customers
        self._followups = followups
        self._book = book
        self._layering = layering
        self._tag_sync = tag_sync
        self._clock = clock

    def handle(self, event: BizEvent) -> BankCustomer | None:
        """Apply the event once; returns the customer as it now stands."""
        payload = event.payload
        now = self._clock.now()

        def change(current: BankCustomer | None) -> BankCustomer:
            base = current or BankCustomer(bank_customer_id=payload.bank_customer_id)
            return self._layering.recompute(bc.apply_event(base, payload), now)

        applied = self._bank_customers.update_once(
            f"biz-{event.event_id}", payload.bank_customer_id, change
        )
        customer, _version = self._bank_customers.get(payload.bank_customer_id)
        if customer is None:
            return None
        if isinstance(payload, JourneyAbandoned) and bc.abandoned_since_completed(
            customer, payload
        ):
            self._journey_followup(customer, payload, event.event_id)
        if isinstance(payload, JourneyCompleted):
            self._book.cancel_journey(customer.bank_customer_id, payload.journey)
        # Also on a duplicate: the first delivery may have died before asking for the sync,
        # and a sync with nothing to change costs WeCom nothing.
        request_tag_sync(self._tag_sync, customer)
        log(
            logger,
            logging.INFO,
            "business event applied" if applied else "duplicate event",
            event_type=event.type,
            event_id=event.event_id,
            stage=customer.stage,
            segment=customer.segment,
        )
        return customer

    def link(self, bank_customer_id: str, link: BankCustomerLink) -> BankCustomer:
        """Tie a bank customer to their WeCom identity (tags earned so far and the marketing
        choice follow them) or record their marketing choice."""
        linked = self._bank_customers.link(bank_customer_id, link, self._clock.now())
        request_tag_sync(self._tag_sync, linked)
        return linked

    def _journey_followup(
        self, customer: BankCustomer, payload: JourneyAbandoned, event_id: str
    ) -> None:
        """Within the hour, for the staff member who owns the relation (the latest active)."""
        relation = None
        if customer.external_userid:
            contact = self._customers.get(customer.external_userid)
            relation = contact.owner() if contact else None
        created = self._followups.create(
            Followup(
                id=followup_id("journey", event_id),
                external_userid=customer.external_userid,
                staff_userid=relation.staff_userid if relation else "",
                reason=FollowupReason.JOURNEY_ABANDONED,
                detail=f"{payload.journey} 停在 {payload.step}"
                f"（客户号 {customer.bank_customer_id}）",
                due_at=min(payload.occurred_at, self._clock.now()),
                bank_customer_id=customer.bank_customer_id,
                journey=payload.journey,
            )
        )
        if created and relation is None:
            log(
                logger,
                logging.WARNING,
                "abandoned journey has no staff to call back",
                bank_customer_id=customer.bank_customer_id,
                journey=payload.journey,
            )
