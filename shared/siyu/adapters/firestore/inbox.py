"""`inbox/{key}`: each accepted WeCom callback, kept until its event is published."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from google.api_core.retry import Retry
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import create_once, translated
from siyu.domain.events import WeComEvent
from siyu.domain.inbox import InboxEntry, InboxStatus
from siyu.ports import Clock

_OPEN = [InboxStatus.RECEIVED.value, InboxStatus.PENDING.value]
# The callback writes inside WeCom's 5-s wait: give up on an unreachable Firestore quickly
# (the event is then published directly) instead of the SDK's 60-s retry.
_RETRY = Retry(initial=0.05, maximum=0.4, multiplier=2.0, timeout=1.5)
_TIMEOUT_S = 1.5


def _entry(doc: dict[str, Any]) -> InboxEntry:
    """An entry as stored: its event is the event's JSON text (entries written before
    that held it as a map; the TTL removes the last of them 7 days after the change)."""
    if isinstance(doc.get("event"), str):
        doc = {**doc, "event": WeComEvent.model_validate_json(doc["event"])}
    return InboxEntry.model_validate(doc)


class InboxRepo:
    """The event is stored as one JSON string rather than a map: a map costs a Firestore
    value and an index entry per field on the callback's hot path, and nothing queries
    inside it (erasure finds a person's entries by the top-level `external_user_id`)."""

    def __init__(self, db: firestore.Client, clock: Clock, ttl_days: int) -> None:
        self._col = db.collection("inbox")
        self._clock = clock
        self._ttl = timedelta(days=ttl_days)

    def claim(self, key: str, event: WeComEvent) -> bool:
        now = self._clock.now()
        doc = {
            "key": key,
            "status": InboxStatus.RECEIVED.value,
            "event": event.model_dump_json(),
            "external_user_id": event.external_user_id,
            "created_at": now,
            "expire_at": now + self._ttl,
        }
        return create_once(self._col.document(key), doc, retry=_RETRY, timeout=_TIMEOUT_S)

    def get(self, key: str) -> InboxEntry | None:
        with translated():
            snap = self._col.document(key).get(retry=_RETRY, timeout=_TIMEOUT_S)
        return _entry(snap.to_dict() or {}) if snap.exists else None

    def mark(
        self, key: str, status: InboxStatus, event: WeComEvent | None = None, **fields: str
    ) -> None:
        update: dict[str, Any] = {"status": status.value, "marked_at": self._clock.now(), **fields}
        if event is not None:
            update["event"] = event.model_dump_json()
        with translated():
            self._col.document(key).set(update, merge=True, retry=_RETRY, timeout=_TIMEOUT_S)

    def unpublished(self, created_before: datetime, limit: int) -> list[InboxEntry]:
        query = (
            self._col.where(filter=FieldFilter("status", "in", _OPEN))
            .where(filter=FieldFilter("created_at", "<", created_before))
            .order_by("created_at")
            .limit(limit)
        )
        with translated():
            return [_entry(s.to_dict() or {}) for s in query.stream()]
