"""`deliveries/{key}`: how often one Pub/Sub message has failed, counted by its handler.

The handler dead-letters a message itself (with the reason) on its last allowed attempt
and acknowledges it, so Pub/Sub never has to: its own dead-lettering is the fallback only
(it carries no reason, and the Pub/Sub emulator's ordered push loop dies on it).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from google.cloud import firestore

from siyu.adapters.firestore.store import translated
from siyu.ports import Clock


class DeliveryAttempts:
    def __init__(self, db: firestore.Client, clock: Clock, ttl_days: int) -> None:
        self._col = db.collection("deliveries")
        self._clock = clock
        self._ttl = timedelta(days=ttl_days)

    def failed(self, key: str) -> int:
        """Count one more failed delivery of `key`; returns the failures so far."""
        ref = self._col.document(hashlib.sha256(key.encode()).hexdigest())
        now = self._clock.now()
        with translated():
            ref.set(
                {
                    "key": key[:500],
                    "failures": firestore.Increment(1),
                    "expire_at": now + self._ttl,
                },
                merge=True,
            )
            return int((ref.get().to_dict() or {}).get("failures", 1))
