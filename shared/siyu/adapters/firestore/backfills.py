"""`tag_rule_backfills/{rule_id}`: a tag rule's backfill, advanced page by page in a
transaction so that two runs of the same page count it once."""

from __future__ import annotations

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

    def advance(self, before: Backfill, after: Backfill) -> bool:
        ref = self._col.document(before.rule_id)

        @firestore.transactional
        def run(tx: firestore.Transaction) -> bool:
            snap = ref.get(transaction=tx)
            stored = Backfill.model_validate(snap.to_dict()) if snap.exists else None
            if (
                stored is None
                or stored.generation != before.generation
                or stored.cursor != before.cursor
                or stored.status is not BackfillStatus.RUNNING
            ):
                return False
            tx.set(ref, as_document(after))
            return True

        with translated():
            return bool(run(self._db.transaction()))
