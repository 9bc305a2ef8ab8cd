"""on_biz_event's profile use case: purchases, profile, questionnaires and abandoned journeys
become facts, a lifecycle stage, an RFM segment and earned tags, once per event."""

from __future__ import annotations

import logging

from pydantic import BaseModel

from siyu.domain import bank_customers as bc
from siyu.domain.bank_customers import BankCustomer, BankCustomerLink, EarnedTag
from siyu.domain.biz_events import BizEvent, JourneyAbandoned
from siyu.domain.followups import Followup, FollowupReason, followup_id
from siyu.domain.layering import LayeringConfig, layer_tags
from siyu.logging import log
from siyu.ports import BankCustomerRepo, Clock, CustomerRepo, FollowupRepo, MessagePublisher
from siyu.services.tag_catalog import TagCatalog
from siyu.services.tag_rules import TagRuleSet

logger = logging.getLogger(__name__)


class TagSyncRequest(BaseModel):
    """The message on `tag-sync`: push this customer's earned tags to WeCom."""

    bank_customer_id: str


class ProfileService:
    def __init__(
        self,
        bank_customers: BankCustomerRepo,
        customers: CustomerRepo,
        followups: FollowupRepo,
        rules: TagRuleSet,
        catalog: TagCatalog,
        tag_sync: MessagePublisher,
        clock: Clock,
        layering: LayeringConfig,
    ) -> None:
        self._bank_customers = bank_customers
        self._customers = customers
        self._followups = followups
        self._rules = rules
        self._catalog = catalog
        self._tag_sync = tag_sync
        self._clock = clock
        self._layering = layering

    def handle(self, event: BizEvent) -> BankCustomer | None:
        """Apply the event once; returns the customer as it now stands."""
        payload = event.payload
        now = self._clock.now()
        ruleset = self._rules.rules()

        def change(current: BankCustomer | None) -> BankCustomer:
            base = current or BankCustomer(bank_customer_id=payload.bank_customer_id)
            updated = bc.relayer(bc.apply_event(base, payload), now, self._layering)
            earned = [
                EarnedTag(id=rule.tag_id, name=rule.tag.name, group=rule.tag.group)
                for rule in ruleset.tags_for(updated.facts(now))
            ]
            return updated.model_copy(update={"earned_tags": earned + self._layer_tags(updated)})

        applied = self._bank_customers.update_once(
            f"biz-{event.event_id}", payload.bank_customer_id, change
        )
        customer, _version = self._bank_customers.get(payload.bank_customer_id)
        if customer is None:
            return None
        if isinstance(payload, JourneyAbandoned):
            self._journey_followup(customer, payload, event.event_id)
        # Also on a duplicate: the first delivery may have died before asking for the sync,
        # and a sync with nothing to change costs WeCom nothing.
        self._request_sync(customer)
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
        """Tie a bank customer to their WeCom identity; tags earned so far follow them."""
        linked = self._bank_customers.link(bank_customer_id, link.external_userid, link.unionid)
        self._request_sync(linked)
        return linked

    def _request_sync(self, customer: BankCustomer) -> None:
        if customer.external_userid:
            self._tag_sync.send(
                TagSyncRequest(bank_customer_id=customer.bank_customer_id),
                f"bank_customer:{customer.bank_customer_id}",
            )

    def _layer_tags(self, customer: BankCustomer) -> list[EarnedTag]:
        refs = layer_tags(customer.stage, customer.segment)
        return [
            EarnedTag(id=tag_id, name=ref.name, group=ref.group)
            for ref, tag_id in zip(refs, self._catalog.ids(refs), strict=True)
        ]

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
