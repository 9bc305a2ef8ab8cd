"""What the callback endpoint receives and answers, independent of HTTP."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from siyu.domain.model import Model


class CallbackQuery(Model):
    """The query string WeCom signs; values arrive URL-decoded."""

    msg_signature: str = Field(min_length=40, max_length=40, pattern=r"^[0-9a-fA-F]{40}$")
    timestamp: str = Field(min_length=1, max_length=20, pattern=r"^\d+$")
    nonce: str = Field(min_length=1, max_length=64)


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # stored and published
    KEPT = "kept"  # stored; publishing failed, so the sweeper publishes it
    DUPLICATE = "duplicate"
    ACKNOWLEDGED = "acknowledged"  # signed, but nothing siyu acts on


class IntakeResult(Model):
    outcome: Outcome
    dedupe_key: str
    welcome: str
    message_id: str = ""
