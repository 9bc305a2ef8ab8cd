"""`ticks/{topic}`: the last scheduler tick each scheduled function handled."""

from __future__ import annotations

from google.cloud import firestore

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain.health import TickSeen


class TickLog:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("ticks")

    def beat(self, seen: TickSeen) -> None:
        with translated():
            self._col.document(seen.topic).set(as_document(seen))

    def all(self) -> list[TickSeen]:
        with translated():
            return [TickSeen.model_validate(s.to_dict()) for s in self._col.stream()]
