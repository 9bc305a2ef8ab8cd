"""Business events the bank's systems post to /events: one envelope, a typed payload per type.

`{"type": "purchase", "payload": {...}}`; every payload carries `event_id` (idempotency)
and `bank_customer_id`. Errors name the field as `payload.amount`, `type`, …
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    Tag,
)

from siyu.domain.ids import DocId
from siyu.domain.model import Model
from siyu.domain.referrals import CardOpened


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone offset")
    return value


Aware = Annotated[datetime, AfterValidator(_aware)]
_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
_KEY = r"^[A-Za-z0-9_-]{1,40}$"


class _Payload(Model):
    model_config = ConfigDict(extra="forbid")

    event_id: DocId = Field(pattern=_ID)
    bank_customer_id: DocId = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")


class Purchase(_Payload):
    product: str = Field(min_length=1, max_length=64)
    amount: Decimal = Field(gt=0, max_digits=16, decimal_places=2, allow_inf_nan=False)
    occurred_at: Aware


class Profile(_Payload):
    age: int | None = Field(None, ge=0, le=130)
    aum_band: str | None = Field(None, max_length=32)
    birthday: date | None = None


class Questionnaire(_Payload):
    questionnaire_id: str = Field(pattern=_KEY)
    answers: dict[Annotated[str, Field(pattern=_KEY)], str | list[str]] = Field(max_length=100)
    answered_at: Aware | None = None


class JourneyAbandoned(_Payload):
    journey: str = Field(pattern=_KEY)
    step: str = Field(min_length=1, max_length=64)
    occurred_at: Aware


class JourneyCompleted(_Payload):
    """The journey went through after all: its abandoned follow-up is cancelled."""

    journey: str = Field(pattern=_KEY)
    occurred_at: Aware


class MarketingConsent(_Payload):
    """The customer's choice about marketing, from the bank's consent records."""

    opt_out: bool
    occurred_at: Aware


class _Envelope(Model):
    model_config = ConfigDict(extra="forbid")


class CardOpenedEvent(_Envelope):
    type: Literal["card_opened"]
    payload: CardOpened


class PurchaseEvent(_Envelope):
    type: Literal["purchase"]
    payload: Purchase


class ProfileEvent(_Envelope):
    type: Literal["profile"]
    payload: Profile


class QuestionnaireEvent(_Envelope):
    type: Literal["questionnaire"]
    payload: Questionnaire


class JourneyAbandonedEvent(_Envelope):
    type: Literal["journey_abandoned"]
    payload: JourneyAbandoned


class JourneyCompletedEvent(_Envelope):
    type: Literal["journey_completed"]
    payload: JourneyCompleted


class MarketingConsentEvent(_Envelope):
    type: Literal["marketing_consent"]
    payload: MarketingConsent


Kind = Literal[
    "card_opened",
    "purchase",
    "profile",
    "questionnaire",
    "journey_abandoned",
    "journey_completed",
    "marketing_consent",
]
KINDS: tuple[str, ...] = get_args(Kind)


class _UnknownType(_Envelope):
    """Only reached for an unknown `type`, so that the error names the `type` field."""

    model_config = ConfigDict(extra="allow")
    type: Kind


def _kind(value: Any) -> str:
    found = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"<{found}>" if found in KINDS else "<unknown>"


class BizEvent(
    RootModel[
        Annotated[
            Annotated[CardOpenedEvent, Tag("<card_opened>")]
            | Annotated[PurchaseEvent, Tag("<purchase>")]
            | Annotated[ProfileEvent, Tag("<profile>")]
            | Annotated[QuestionnaireEvent, Tag("<questionnaire>")]
            | Annotated[JourneyAbandonedEvent, Tag("<journey_abandoned>")]
            | Annotated[JourneyCompletedEvent, Tag("<journey_completed>")]
            | Annotated[MarketingConsentEvent, Tag("<marketing_consent>")]
            | Annotated[_UnknownType, Tag("<unknown>")],
            Discriminator(_kind),
        ]
    ]
):
    @property
    def type(self) -> str:
        return str(self.root.type)

    @property
    def payload(self) -> Any:
        return self.root.payload  # type: ignore[union-attr]

    @property
    def event_id(self) -> str:
        return str(self.payload.event_id)

    @property
    def ordering_key(self) -> str:
        return f"bank_customer:{self.payload.bank_customer_id}"
