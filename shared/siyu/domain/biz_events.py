"""Business events the bank's systems post to /events: one envelope, a typed payload."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from siyu.domain.referrals import CardOpened


class BizEvent(BaseModel):
    """`{"type": ..., "payload": {...}}`. A new event type adds its name to `type` and its
    model to `payload` (a union discriminated by `type`)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["card_opened"]
    payload: CardOpened

    @property
    def event_id(self) -> str:
        return self.payload.event_id

    @property
    def ordering_key(self) -> str:
        return f"bank_customer:{self.payload.bank_customer_id}"
