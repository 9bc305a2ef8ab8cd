"""`funnel/{milestone}-{subject}` documents, counted with COUNT aggregation queries; the
dimension values seen live in `funnel_values/{dimension}-{hash}`."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain.funnel import DIMENSIONS, Dimension, MilestoneRecord


class FunnelStore:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("funnel")
        self._values = db.collection("funnel_values")
        self._known: set[str] = set()  # value documents this instance wrote already
        self._lock = threading.Lock()

    def record(self, milestone: MilestoneRecord) -> bool:
        """The milestone and any dimension value new to this instance, in one atomic batch."""
        batch = self._db.batch()
        batch.create(self._col.document(milestone.id), as_document(milestone))
        new_values = set()
        for by in DIMENSIONS:
            doc_id, data = value_document(by, str(getattr(milestone, by)))
            with self._lock:
                if doc_id in self._known:
                    continue
            batch.set(self._values.document(doc_id), data)
            new_values.add(doc_id)
        with translated():
            try:
                batch.commit()
            except gexc.AlreadyExists:
                return False
        with self._lock:
            self._known |= new_values
        return True

    def values(self, by: str) -> list[str]:
        query = self._values.where(filter=FieldFilter("by", "==", by))
        with translated():
            return sorted(str((s.to_dict() or {}).get("value", "")) for s in query.stream())

    def count(
        self, milestone: str, by: Dimension, value: str, start: datetime, end: datetime
    ) -> int:
        """One COUNT aggregation; `by` is a Literal, so the index check sees each query."""
        query = (
            self._col.where(filter=FieldFilter("milestone", "==", milestone))
            .where(filter=FieldFilter(by, "==", value))
            .where(filter=FieldFilter("at", ">=", start))
            .where(filter=FieldFilter("at", "<", end))
        )
        return _count(query)

    def count_all(self, milestone: str, start: datetime, end: datetime) -> int:
        query = (
            self._col.where(filter=FieldFilter("milestone", "==", milestone))
            .where(filter=FieldFilter("at", ">=", start))
            .where(filter=FieldFilter("at", "<", end))
        )
        return _count(query)

    def count_branches(
        self, milestone: str, branches: list[str], start: datetime, end: datetime
    ) -> int:
        query = (
            self._col.where(filter=FieldFilter("milestone", "==", milestone))
            .where(filter=FieldFilter("branch", "in", branches))
            .where(filter=FieldFilter("at", ">=", start))
            .where(filter=FieldFilter("at", "<", end))
        )
        return _count(query)


def value_document(by: str, value: str) -> tuple[str, dict[str, str]]:
    """`funnel_values/{by}-{hash}`: one per value of a dimension ever recorded."""
    return f"{by}-{hashlib.sha256(value.encode()).hexdigest()[:24]}", {"by": by, "value": value}


def _count(query: Any) -> int:
    with translated():
        [[result]] = query.count(alias="n").get()
    return int(result.value)
