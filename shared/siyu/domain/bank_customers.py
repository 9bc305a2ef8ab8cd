"""`bank_customers/{id}`: the bank's customer as siyu knows them, in one document.

It links the bank customer number to WeCom (external_userid / unionid), and holds what the
card-alert hot path reads (groups, recent invites) and what business events build up
(profile, purchase aggregates, questionnaire answers, stage, segment, the tags earned).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

from siyu.domain.biz_events import JourneyAbandoned, Profile, Purchase, Questionnaire
from siyu.domain.card_alerts import IssuedInvite
from siyu.domain.ids import OptionalDocId
from siyu.domain.layering import Aggregates, LayeringConfig, Stage, segment_of, stage_of

RECENT_INVITES_KEPT = 10
PRODUCTS_KEPT = 50


class KnownProfile(BaseModel):
    age: int | None = None
    aum_band: str | None = None
    birthday: date | None = None


class EarnedTag(BaseModel):
    """A corp tag the customer's facts earn (rules, stage, segment); synced to WeCom."""

    id: str
    name: str
    group: str


class BankCustomer(BaseModel):
    bank_customer_id: str
    external_userid: str = ""
    unionid: str = ""
    groups: list[str] = Field(default_factory=list)  # benefit groups the customer is in
    invites: list[IssuedInvite] = Field(default_factory=list)  # newest last
    profile: KnownProfile = Field(default_factory=KnownProfile)
    aggregates: Aggregates = Field(default_factory=Aggregates)
    answers: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)
    journeys_abandoned: list[str] = Field(default_factory=list)
    stage: Stage = Stage.NEW
    segment: str | None = None
    earned_tags: list[EarnedTag] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def birthday_md(self) -> str:
        """Stored for the birthday campaigns' query."""
        birthday = self.profile.birthday
        return f"{birthday:%m-%d}" if birthday else ""

    def answer_for(self, txn_id: str) -> IssuedInvite | None:
        return next((i for i in self.invites if i.txn_id == txn_id), None)

    def invited_within(self, cooldown: timedelta, now: datetime) -> bool:
        return bool(self.invites) and now - self.invites[-1].issued_at < cooldown

    def facts(self, now: datetime) -> dict[str, Any]:
        """The flat fact names tag rules test (see tag_rules.FIELDS)."""
        agg = self.aggregates
        days = (now - agg.last_purchase_at).days if agg.last_purchase_at else None
        facts: dict[str, Any] = {
            "profile.age": self.profile.age,
            "profile.aum_band": self.profile.aum_band,
            "profile.birthday_month": self.profile.birthday.month
            if self.profile.birthday
            else None,
            "aggregates.purchase_count": agg.purchase_count,
            "aggregates.total_amount": agg.total_amount,
            "aggregates.days_since_last_purchase": days,
            "aggregates.products": agg.products,
            "stage": self.stage.value,
            "segment": self.segment,
            "journeys_abandoned": self.journeys_abandoned,
        }
        for questionnaire, answers in self.answers.items():
            for question, answer in answers.items():
                facts[f"answers.{questionnaire}.{question}"] = answer
        return facts


class BankCustomerLink(BaseModel):
    """PUT /ops/bank-customers/{id}: who this bank customer is in WeCom."""

    model_config = ConfigDict(extra="forbid")

    external_userid: OptionalDocId = Field("", max_length=64)
    unionid: str = Field("", max_length=64)


def with_invite(customer: BankCustomer, invite: IssuedInvite) -> BankCustomer:
    kept = [*customer.invites, invite][-RECENT_INVITES_KEPT:]
    return customer.model_copy(update={"invites": kept})


def apply_event(
    customer: BankCustomer, payload: Purchase | Profile | Questionnaire | JourneyAbandoned
) -> BankCustomer:
    """Fold one business event into the customer's facts."""
    if isinstance(payload, Purchase):
        agg = customer.aggregates
        products = (
            [*agg.products, payload.product]
            if payload.product not in agg.products
            else agg.products
        )
        last = max(filter(None, [agg.last_purchase_at, payload.occurred_at]))
        first = min(filter(None, [agg.first_purchase_at, payload.occurred_at]))
        aggregates = Aggregates(
            purchase_count=agg.purchase_count + 1,
            total_amount=agg.total_amount + payload.amount,
            first_purchase_at=first,
            last_purchase_at=last,
            products=products[-PRODUCTS_KEPT:],
        )
        return customer.model_copy(update={"aggregates": aggregates})
    if isinstance(payload, Profile):
        known = customer.profile.model_dump()
        known |= {
            k: v
            for k, v in payload.model_dump(include={"age", "aum_band", "birthday"}).items()
            if v is not None
        }
        return customer.model_copy(update={"profile": KnownProfile.model_validate(known)})
    if isinstance(payload, Questionnaire):
        answers = {**customer.answers, payload.questionnaire_id: dict(payload.answers)}
        return customer.model_copy(update={"answers": answers})
    journeys = sorted({*customer.journeys_abandoned, payload.journey})
    return customer.model_copy(update={"journeys_abandoned": journeys})


def relayer(customer: BankCustomer, now: datetime, cfg: LayeringConfig) -> BankCustomer:
    return customer.model_copy(
        update={
            "stage": stage_of(customer.aggregates, cfg),
            "segment": segment_of(customer.aggregates, now, cfg),
        }
    )
