"""The audit log: one entry per mutating ops call, who did what to which target, with the
change as before → after. Secrets and personal data are masked before anything is kept."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from siyu.domain.campaigns import SHANGHAI
from siyu.domain.model import Model

MASK = "***"
# Keys whose values are secrets or a person's data: kept out of the log, whatever the route.
MASKED_KEYS = frozenset(
    {
        "birthday",
        "mobile",
        "phone",
        "phone_hash",
        "device_hash",
        "id_number",
        "remark",
        "real_name",
        "nickname",
        "unionid",
        "secret",
        "token",
        "password",
        "session",
        "content_base64",
        "note",
        "answers",
    }
)
MAX_VALUE_CHARS = 2000  # a long text is cut, so one entry stays well under a document's 1 MiB


def masked(value: Any) -> Any:
    """A copy safe to keep: masked keys hidden (their presence kept), long text cut."""
    if isinstance(value, dict):
        return {k: MASK if k in MASKED_KEYS else masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value


# Keys whose values name a customer: the audit log keeps a random pseudonym in their place
# (person_tokens), which erasure deletes, so old entries then name no one.
PERSON_KEYS = {
    "external_userid": "external_userid",
    "external_userids": "external_userid",
    "bank_customer_id": "bank_customer_id",
    "referee": "bank_customer_id",
    "referrer": "bank_customer_id",
}


def pseudonymised(value: Any, token: Callable[[str, str], str], kind: str = "") -> Any:
    """`value` with every customer id (under a PERSON_KEYS key) replaced by token(kind, id)."""
    if isinstance(value, dict):
        return {k: pseudonymised(v, token, PERSON_KEYS.get(k, kind)) for k, v in value.items()}
    if isinstance(value, list):
        return [pseudonymised(v, token, kind) for v in value]
    if isinstance(value, str) and kind and value:
        return token(kind, value)
    return value


def pseudonymised_target(target: str, token: Callable[[str, str], str]) -> str:
    """ "bank_customer_id=bc1" → "bank_customer_id=p-…"; other ids stay."""
    parts = []
    for part in target.split(",") if target else []:
        key, _, value = part.partition("=")
        parts.append(f"{key}={token(PERSON_KEYS[key], value)}" if key in PERSON_KEYS else part)
    return ",".join(parts)


def changed(before: Any, after: Any) -> tuple[Any, Any]:
    """Of two documents, only the keys that differ (whole values when not both documents)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return before, after
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


class Change(Model):
    """What the caller of an audited call did: who, which route and target, the outcome."""

    actor: str  # a WeCom userid or a service identity
    actor_kind: Literal["member", "service", "cli"]
    route: str  # "PUT /ops/groups/{chat_id}"
    target: str  # the path's ids, e.g. "chat_id=wrA1"; "" for a call without one
    status: int
    before: Any = None
    after: Any = None


class AuditEntry(Change):
    id: str
    at: datetime
    correlation_id: str = ""
    expire_at: datetime  # Firestore's TTL deletes the entry after the retention period


def entry_id(at: datetime, correlation_id: str, route: str) -> str:
    """Sortable by time; the same call (its correlation id) cannot append twice."""
    digest = hashlib.sha256(f"{correlation_id}|{route}".encode()).hexdigest()[:16]
    return f"{at.strftime('%Y%m%dT%H%M%S%f')}-{digest}"


def entry(change: Change, at: datetime, correlation_id: str, retention_days: int) -> AuditEntry:
    """The entry to keep: masked, and of before → after only what changed."""
    was, now = changed(masked(change.before), masked(change.after))
    return AuditEntry(
        **{**change.model_dump(), "before": was, "after": now},
        id=entry_id(at, correlation_id, change.route),
        at=at,
        correlation_id=correlation_id,
        expire_at=at + timedelta(days=retention_days),
    )


class AuditQuery(Model):
    """GET /ops/audit?target=&actor=&from=&to= (Shanghai days), newest first."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    target: str = Field("", max_length=200, description="e.g. chat_id=wrA1")
    actor: str = Field("", max_length=128)
    from_: date | None = Field(None, alias="from")
    to: date | None = None
    limit: int = Field(200, ge=1, le=1000)

    @model_validator(mode="after")
    def _span(self) -> AuditQuery:
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError("`to` is before `from`")
        return self

    def window(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.from_, time(0), SHANGHAI) if self.from_ else None
        end = datetime.combine(self.to + timedelta(days=1), time(0), SHANGHAI) if self.to else None
        return start, end
