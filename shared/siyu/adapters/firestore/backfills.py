"""`tag_rule_backfills/{rule_id}`: a tag rule's backfill, advanced page by page in a
transaction so that two runs of the same page count it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain.backfills import Backfill, BackfillStatus


class BackfillRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("tag_rule_backfills")

    def start(self, backfill: Backfill) -> None:
        with translated():
            self._col.document(backfill.rule_id).set(as_document(backfill))

    def get(self, rule_id: str) -> Backfill | None:
        with translated():
            snap = self._col.document(rule_id).get()
        return Backfill.model_validate(snap.to_dict()) if snap.exists else None

    def running(self) -> list[Backfill]:
        query = self._col.where(filter=FieldFilter("status", "==", BackfillStatus.RUNNING.value))
        with translated():
            return [Backfill.model_validate(s.to_dict()) for s in query.stream()]

    def lease(self, before: Backfill, until: datetime, now: datetime) -> Backfill | None:
        leased = before.model_copy(update={"leased_until": until})
        ok = self._swap(before, leased, lambda stored: stored.free_at(now))
        return leased if ok else None

    def advance(self, before: Backfill, after: Backfill) -> bool:
        return self._swap(before, after, lambda _stored: True)

    def _swap(self, before: Backfill, after: Backfill, also: Callable[[Backfill], bool]) -> bool:
        """In a transaction: write `after` if the stored backfill is at `before`'s step."""
        ref = self._col.document(before.rule_id)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> bool:
            snap = ref.get(transaction=tx)
            stored = Backfill.model_validate(snap.to_dict()) if snap.exists else None
            if stored is None or not stored.same_step(before) or not also(stored):
                return False
            tx.set(ref, as_document(after))
            return True

        with translated():
            return bool(run(self._db.transaction()))
