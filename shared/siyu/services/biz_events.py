"""on_biz_event's dispatch: card openings credit referrals; every other event builds the
profile. Both then note the funnel milestones they reached."""

from __future__ import annotations

from siyu.domain.bank_customers import BankCustomer
from siyu.domain.biz_events import BizEvent, Purchase
from siyu.domain.funnel import Milestone
from siyu.ports import BankCustomerRepo
from siyu.services.customer_profile import ProfileService
from siyu.services.funnel import FunnelTracker
from siyu.services.referrals import ReferralService


class BizEventRouter:
    def __init__(
        self,
        referrals: ReferralService,
        profiles: ProfileService,
        bank_customers: BankCustomerRepo,
        funnel: FunnelTracker,
    ) -> None:
        self._referrals = referrals
        self._profiles = profiles
        self._bank_customers = bank_customers
        self._funnel = funnel

    def handle(self, event: BizEvent) -> None:
        payload = event.payload
        if event.type == "card_opened":
            self._referrals.handle(event)
            referrer = self._referrals.credited_referrer(payload.bank_customer_id)
            if referrer:
                dims = self._funnel.of_bank_customer(self._bank_customers.get(referrer)[0])
                subject = payload.bank_customer_id  # one credited invite per referee, ever
                self._funnel.note(
                    Milestone.REFERRAL_CREDITED, subject, payload.opened_at, dims, subject
                )
            return
        customer = self._profiles.handle(event)
        if isinstance(payload, Purchase) and customer is not None:
            self._note_purchases(customer, payload)

    def _note_purchases(self, customer: BankCustomer, purchase: Purchase) -> None:
        if customer.aggregates.purchase_count == 0:
            return
        dims = self._funnel.of_bank_customer(customer)
        first = customer.aggregates.first_purchase_at or purchase.occurred_at
        who = customer.bank_customer_id
        self._funnel.note(Milestone.FIRST_PURCHASE, who, first, dims, who)
        if customer.aggregates.purchase_count >= 2:
            # The event that makes the count reach two notes it (the marker makes it once).
            self._funnel.note(Milestone.REPEAT, who, purchase.occurred_at, dims, who)
