"""`bank_customers/{id}`: the bank's customer as siyu knows them, in one document.

It links the bank customer number to WeCom (external_userid / unionid), and holds what the
card-alert hot path reads (groups, recent invites) and what business events build up
(profile, purchase aggregates, questionnaire answers, stage, segment, the tags earned).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ConfigDict, Field, computed_field, field_validator

from siyu.domain.biz_events import (
    JourneyAbandoned,
    JourneyCompleted,
    MarketingConsent,
    Profile,
    Purchase,
    Questionnaire,
)
from siyu.domain.campaigns import SHANGHAI
from siyu.domain.card_alerts import IssuedInvite
from siyu.domain.ids import OptionalDocId
from siyu.domain.layering import (
    Aggregates,
    LayeringConfig,
    Stage,
    layer_tags,
    segment_of,
    stage_of,
)
from siyu.domain.model import Model
from siyu.domain.tag_rules import RuleSet
from siyu.domain.tags import TagRef

RECENT_INVITES_KEPT = 10
PRODUCTS_KEPT = 50


class KnownProfile(Model):
    """Age and asset band as the bank reports them; the birthday as month-day only, as no
    rule or campaign needs the year (PIPL art. 6: the least data the purpose needs)."""

    age: int | None = None
    aum_band: str | None = None
    birthday: str | None = Field(None, pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")

    @field_validator("birthday", mode="before")
    @classmethod
    def _month_day(cls, value: Any) -> Any:
        """A full date (the bank's event, a document stored before) keeps month and day."""
        if isinstance(value, date):
            return f"{value:%m-%d}"
        if isinstance(value, str) and len(value) == 10:
            return value[5:]
        return value

    @property
    def birthday_month(self) -> int | None:
        return int(self.birthday[:2]) if self.birthday else None


class EarnedTag(Model):
    """A corp tag the customer's facts earn (rules, stage, segment); synced to WeCom."""

    id: str
    name: str
    group: str


class BankCustomer(Model):
    bank_customer_id: str
    external_userid: str = ""
    unionid: str = ""
    groups: list[str] = Field(default_factory=list)  # benefit groups the customer is in
    invites: list[IssuedInvite] = Field(default_factory=list)  # newest last
    profile: KnownProfile = Field(default_factory=KnownProfile)
    aggregates: Aggregates = Field(default_factory=Aggregates)
    answers: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)
    journeys_abandoned: list[str] = Field(default_factory=list)
    journeys_completed: dict[str, datetime] = Field(default_factory=dict)  # latest completion
    stage: Stage = Stage.NEW
    segment: str | None = None
    earned_tags: list[EarnedTag] = Field(default_factory=list)
    # The earliest moment time alone can change the stage, segment or a rule's answer: the
    # daily re-layering job reads only customers whose moment has come.
    next_relayer_at: datetime | None = None
    # No marketing: campaigns and automated outreach skip the customer.
    marketing_opt_out: bool = False
    consent_at: datetime | None = None  # when the opt-out last changed (later events win)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def birthday_md(self) -> str:
        """Stored for the birthday campaigns' query."""
        return self.profile.birthday or ""

    def answer_for(self, txn_id: str) -> IssuedInvite | None:
        return next((i for i in self.invites if i.txn_id == txn_id), None)

    def invited_within(self, cooldown: timedelta, now: datetime) -> bool:
        return bool(self.invites) and now - self.invites[-1].issued_at < cooldown

    def facts(self, now: datetime) -> dict[str, Any]:
        """The flat fact names tag rules test (see tag_rules.FIELDS)."""
        agg = self.aggregates
        days = (now - agg.last_purchase_at).days if agg.last_purchase_at else None
        month = self.profile.birthday_month
        facts: dict[str, Any] = {
            "profile.age": self.profile.age,
            "profile.aum_band": self.profile.aum_band,
            "profile.birthday_month": month,
            "profile.birthday_this_month": (
                month == now.astimezone(SHANGHAI).month if month else None
            ),
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


class BankCustomerLink(Model):
    """PUT /ops/bank-customers/{id}: who this bank customer is in WeCom, and whether they
    refuse marketing (left out: unchanged)."""

    model_config = ConfigDict(extra="forbid")

    external_userid: OptionalDocId = Field("", max_length=64)
    unionid: str = Field("", max_length=64)
    marketing_opt_out: bool | None = None


def with_invite(customer: BankCustomer, invite: IssuedInvite) -> BankCustomer:
    kept = [*customer.invites, invite][-RECENT_INVITES_KEPT:]
    return customer.model_copy(update={"invites": kept})


Payload = (
    Purchase | Profile | Questionnaire | JourneyAbandoned | JourneyCompleted | MarketingConsent
)


def apply_event(customer: BankCustomer, payload: Payload) -> BankCustomer:
    """Fold one business event into the customer's facts."""
    if isinstance(payload, Purchase):
        return customer.model_copy(update={"aggregates": _with_purchase(customer, payload)})
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
    if isinstance(payload, MarketingConsent):
        if customer.consent_at and payload.occurred_at < customer.consent_at:
            return customer  # an older preference arriving late
        return customer.model_copy(
            update={"marketing_opt_out": payload.opt_out, "consent_at": payload.occurred_at}
        )
    if isinstance(payload, JourneyCompleted):
        done = customer.journeys_completed.get(payload.journey)
        completed = {
            **customer.journeys_completed,
            payload.journey: max(filter(None, [done, payload.occurred_at])),
        }
        abandoned = [j for j in customer.journeys_abandoned if j != payload.journey]
        return customer.model_copy(
            update={"journeys_completed": completed, "journeys_abandoned": abandoned}
        )
    if not abandoned_since_completed(customer, payload):
        return customer  # completed after it stopped: not abandoned
    journeys = sorted({*customer.journeys_abandoned, payload.journey})
    return customer.model_copy(update={"journeys_abandoned": journeys})


def abandoned_since_completed(customer: BankCustomer, payload: JourneyAbandoned) -> bool:
    """Whether the stop is later than the journey's latest completion (events arrive in any
    order)."""
    completed = customer.journeys_completed.get(payload.journey)
    return completed is None or payload.occurred_at > completed


def _with_purchase(customer: BankCustomer, payload: Purchase) -> Aggregates:
    agg = customer.aggregates
    products = (
        [*agg.products, payload.product] if payload.product not in agg.products else agg.products
    )
    return Aggregates(
        purchase_count=agg.purchase_count + 1,
        total_amount=agg.total_amount + payload.amount,
        first_purchase_at=min(filter(None, [agg.first_purchase_at, payload.occurred_at])),
        last_purchase_at=max(filter(None, [agg.last_purchase_at, payload.occurred_at])),
        products=products[-PRODUCTS_KEPT:],
    )


def reevaluate(
    customer: BankCustomer,
    now: datetime,
    cfg: LayeringConfig,
    rules: RuleSet,
    tag_ids: Callable[[list[TagRef]], list[str]],
) -> BankCustomer:
    """Stage, segment, every earned tag and the next moment to look again, as of `now`.
    `tag_ids` names the layer tags in WeCom (the catalogue; a preview passes blanks)."""
    layered = customer.model_copy(
        update={
            "stage": stage_of(customer.aggregates, cfg),
            "segment": segment_of(customer.aggregates, now, cfg),
        }
    )
    earned = [
        EarnedTag(id=rule.tag_id, name=rule.tag.name, group=rule.tag.group)
        for rule in rules.tags_for(layered.facts(now))
    ]
    refs = layer_tags(layered.stage, layered.segment)
    earned += [
        EarnedTag(id=tag_id, name=ref.name, group=ref.group)
        for ref, tag_id in zip(refs, tag_ids(refs), strict=True)
    ]
    return layered.model_copy(
        update={"earned_tags": earned, "next_relayer_at": next_change(layered, now, cfg, rules)}
    )


def next_change(
    customer: BankCustomer, now: datetime, cfg: LayeringConfig, rules: RuleSet
) -> datetime | None:
    """The earliest moment after `now` at which time alone can change the RFM recency, a
    days-since-purchase rule or a birthday-month rule; None when nothing can."""
    moments: list[datetime] = []
    last = customer.aggregates.last_purchase_at
    if last is not None:
        days = (now - last).days
        # Recent while days <= recent_days; a rule's test flips when the count reaches k.
        counts = [cfg.recent_days + 1, *rules.day_thresholds]
        later = [k for k in counts if k > days]
        if later:
            moments.append(last + timedelta(days=min(later)))
    month = customer.profile.birthday_month
    if month is not None and rules.uses_birthday_month:
        moments.append(_next_month_edge(now, month))
    return min(moments, default=None)


def _next_month_edge(now: datetime, month: int) -> datetime:
    """The next Shanghai midnight starting the birthday month or the month after it."""
    local = now.astimezone(SHANGHAI)
    year, m = local.year, local.month
    while True:
        year, m = (year + 1, 1) if m == 12 else (year, m + 1)
        if m in (month, month % 12 + 1):
            return datetime.combine(date(year, m, 1), time(0), SHANGHAI)
