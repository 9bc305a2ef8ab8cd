"""`funnel/{milestone}-{subject}` documents, each counted into `funnel_days` tallies in the
same atomic batch: a milestone recorded twice fails its create() and so never counts twice."""

from __future__ import annotations

from datetime import date, datetime

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain.funnel import Dimension, MilestoneRecord, Tally, tallies_of, tally_id

TALLY_BATCH = 400  # under Firestore's 500 writes in one commit


class FunnelStore:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("funnel")
        self._days = db.collection("funnel_days")

    def record(self, milestone: MilestoneRecord) -> bool:
        """The milestone and +1 on each dimension's tally of its day, all or nothing."""
        batch = self._db.batch()
        batch.create(self._col.document(milestone.id), as_document(milestone))
        for tally in tallies_of(milestone):
            data = as_document(tally)
            data["counts"] = {name: firestore.Increment(n) for name, n in tally.counts.items()}
            batch.set(self._days.document(tally_id(tally)), data, merge=True)
        with translated():
            try:
                batch.commit()
            except gexc.AlreadyExists:
                return False
        return True

    def tallies(self, by: Dimension, first: date, last: date) -> list[Tally]:
        """Every tally of the dimension for the days first..last (ISO dates sort as days)."""
        query = (
            self._days.where(filter=FieldFilter("by", "==", by))
            .where(filter=FieldFilter("day", ">=", first.isoformat()))
            .where(filter=FieldFilter("day", "<=", last.isoformat()))
        )
        with translated():
            return [Tally.model_validate(s.to_dict()) for s in query.stream()]

    def milestones(self, start: datetime, end: datetime) -> list[MilestoneRecord]:
        query = self._col.where(filter=FieldFilter("at", ">=", start)).where(
            filter=FieldFilter("at", "<", end)
        )
        with translated():
            return [MilestoneRecord.model_validate(s.to_dict()) for s in query.stream()]

    def put_tallies(self, tallies: list[Tally]) -> None:
        """Replace these tallies whole (a recount), in batches."""
        for i in range(0, len(tallies), TALLY_BATCH):
            batch = self._db.batch()
            for tally in tallies[i : i + TALLY_BATCH]:
                batch.set(self._days.document(tally_id(tally)), as_document(tally))
            with translated():
                batch.commit()
