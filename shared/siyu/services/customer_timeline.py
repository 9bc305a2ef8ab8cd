"""One customer as the console shows them: who they are to the bank, what siyu knows and
did, newest first. Read-only: it gathers what the other services wrote."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from siyu.domain.bank_customers import BankCustomer
from siyu.domain.campaigns import SHANGHAI
from siyu.domain.customers import Customer, CustomerTag
from siyu.domain.errors import NotFound
from siyu.domain.followups import Followup
from siyu.domain.model import Model
from siyu.domain.referrals import Invite
from siyu.ports import BankCustomerRepo, CapLedger, CustomerRepo, FollowupRepo, ReferralRepo

HISTORY_LIMIT = 200  # of each kind: a timeline, not an export

EventKind = Literal[
    "relation_added",
    "relation_changed",
    "transfer",
    "group_invite",
    "referral",
    "followup",
    "campaign",
    "opt_out",
]


class TimelineQuery(Model):
    """GET /ops/customer-timeline?external_userid= or ?bank_customer_id=: one of the two."""

    model_config = ConfigDict(extra="forbid")

    external_userid: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")
    bank_customer_id: str = Field("", max_length=64, pattern=r"^[A-Za-z0-9_-]*$")

    @model_validator(mode="after")
    def _one(self) -> TimelineQuery:
        if bool(self.external_userid) == bool(self.bank_customer_id):
            raise ValueError("give external_userid or bank_customer_id (one of them)")
        return self


class TimelineEvent(Model):
    at: datetime
    kind: EventKind
    detail: str  # ids and statuses, not prose: the console words them
    ref: str = ""  # what it links to: a staff userid, a run id, a follow-up id


class CampaignReceived(Model):
    day: str
    run_id: str

    @property
    def campaign_id(self) -> str:
        return self.run_id.split("@", 1)[0]


class CustomerPage(Model):
    external_userid: str
    bank_customer_id: str
    customer: Customer | None
    bank_customer: BankCustomer | None
    tags: dict[str, list[CustomerTag]]  # by source: rule, channel, manual
    stage: str
    segment: str
    referral: Invite | None
    followups: list[Followup]
    campaigns: list[CampaignReceived] = Field(default_factory=list)
    timeline: list[TimelineEvent]


class CustomerTimeline:
    def __init__(
        self,
        customers: CustomerRepo,
        bank_customers: BankCustomerRepo,
        followups: FollowupRepo,
        referrals: ReferralRepo,
        caps: CapLedger,
    ) -> None:
        self._customers = customers
        self._bank = bank_customers
        self._followups = followups
        self._referrals = referrals
        self._caps = caps

    def find(self, external_userid: str = "", bank_customer_id: str = "") -> CustomerPage:
        """By WeCom id or bank customer number; NotFound when siyu knows neither."""
        bank = self._bank.get(bank_customer_id)[0] if bank_customer_id else None
        if bank_customer_id and bank is None:
            raise NotFound(f"bank customer {bank_customer_id}")
        external_userid = external_userid or (bank.external_userid if bank else "")
        customer = self._customers.get(external_userid) if external_userid else None
        if bank is None and external_userid:
            linked = self._bank.find_linked([external_userid], [])
            bank = self._bank.get(linked[0])[0] if linked else None
        if customer is None and bank is None:
            raise NotFound(f"customer {external_userid}")
        return self._page(external_userid, customer, bank)

    def _page(
        self, external_userid: str, customer: Customer | None, bank: BankCustomer | None
    ) -> CustomerPage:
        followups = (
            self._followups.of_customer(external_userid, HISTORY_LIMIT) if external_userid else []
        )
        referral = self._referrals.get_invite(bank.bank_customer_id)[0] if bank else None
        targets = [f"single:{external_userid}"] if external_userid else []  # as the planner claims
        campaigns = [
            CampaignReceived(day=day, run_id=run)
            for target in targets
            for day, run in self._caps.of_target(target, HISTORY_LIMIT)
        ]
        tags: dict[str, list[CustomerTag]] = {}
        for tag in customer.tags if customer else []:
            tags.setdefault(tag.source.value, []).append(tag)
        return CustomerPage(
            external_userid=external_userid,
            bank_customer_id=bank.bank_customer_id if bank else "",
            customer=customer,
            bank_customer=bank,
            tags=tags,
            stage=bank.stage.value if bank else "",
            segment=(bank.segment or "") if bank else "",
            referral=referral,
            followups=followups,
            campaigns=campaigns,
            timeline=_events(customer, bank, referral, followups, campaigns),
        )


def _events(
    customer: Customer | None,
    bank: BankCustomer | None,
    referral: Invite | None,
    followups: list[Followup],
    campaigns: list[CampaignReceived],
) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    for r in customer.relations if customer else []:
        added = f"state={r.state}" if r.state else "state="
        events.append(
            TimelineEvent(at=r.added_at, kind="relation_added", detail=added, ref=r.staff_userid)
        )
        if r.changed_at != r.added_at:
            events.append(
                TimelineEvent(
                    at=r.changed_at,
                    kind="relation_changed",
                    detail=r.status.value,
                    ref=r.staff_userid,
                )
            )
    for at in customer.transfers if customer else []:
        events.append(TimelineEvent(at=at, kind="transfer", detail="transferred"))
    for invite in bank.invites if bank else []:
        events.append(
            TimelineEvent(
                at=invite.issued_at,
                kind="group_invite",
                detail=invite.reason.value,
                ref=invite.group_id,
            )
        )
    if bank and bank.consent_at:
        opted = "opted_out" if bank.marketing_opt_out else "opted_in"
        events.append(TimelineEvent(at=bank.consent_at, kind="opt_out", detail=opted))
    if referral:
        events.append(
            TimelineEvent(
                at=referral.created_at,
                kind="referral",
                detail=referral.status.value,
                ref=referral.referrer,
            )
        )
    for f in followups:
        events.append(
            TimelineEvent(
                at=f.due_at, kind="followup", detail=f"{f.reason.value} {f.status.value}", ref=f.id
            )
        )
    for c in campaigns:
        day = datetime.combine(date.fromisoformat(c.day), time(0), SHANGHAI)
        events.append(TimelineEvent(at=day, kind="campaign", detail=c.campaign_id, ref=c.run_id))
    return sorted(events, key=lambda e: e.at, reverse=True)
