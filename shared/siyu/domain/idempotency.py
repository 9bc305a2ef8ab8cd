"""Idempotency-Key on creating ops calls: the first answer is kept and returned to a retry."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from siyu.domain.errors import InvalidInput
from siyu.domain.model import Model

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 200


class CallStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


class IdempotentCall(Model):
    id: str
    fingerprint: str  # the request's route and body: a key reused for another call is refused
    status: CallStatus
    response_status: int = 0
    response_body: str = ""
    created_at: datetime
    expire_at: datetime


def call_id(actor: str, key: str) -> str:
    """Keys are the caller's own: the same key from two callers names two calls."""
    if not key or len(key) > MAX_KEY_CHARS or not key.isprintable():
        raise InvalidInput(HEADER, f"1–{MAX_KEY_CHARS} printable characters")
    return hashlib.sha256(f"{actor}\n{key}".encode()).hexdigest()


def fingerprint(route: str, target: str, body: bytes) -> str:
    return hashlib.sha256(f"{route}\n{target}\n".encode() + body).hexdigest()
