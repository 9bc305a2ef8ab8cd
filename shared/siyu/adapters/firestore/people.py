"""A person's documents across collections, found the ways the inventory names; the
pseudonyms that stand for people in the audit log; erasure receipts."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import translated
from siyu.domain.personal_data import Found, Key, Locate, Receipt, token_id

_OPS = {"field": "==", "contains": "array_contains"}


class PersonalDataRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._tokens = db.collection("person_tokens")
        self._receipts = db.collection("erasures")

    def find(self, collection: str, locate: Locate, identifier: str) -> list[Found]:
        col = self._db.collection(collection)
        value = locate.value(identifier)
        with translated():
            if locate.by == "id":
                snap = col.document(value).get()
                snaps = [snap] if snap.exists else []
            else:
                query = col.where(filter=FieldFilter(locate.field, _OPS[locate.by], value))
                snaps = list(query.stream())
        return [Found(collection=collection, id=s.id, data=s.to_dict() or {}) for s in snaps]

    def delete(self, collection: str, doc_id: str) -> None:
        with translated():
            self._db.collection(collection).document(doc_id).delete()

    def replace(self, collection: str, doc_id: str, data: dict[str, Any]) -> None:
        with translated():
            self._db.collection(collection).document(doc_id).set(data)

    def ended_before(self, cutoff: datetime, after: str, limit: int) -> list[str]:
        """By `relations_ended_at` then id (Firestore's implicit order): a page starts after
        the document `after`, so customers retention keeps do not fill every page."""
        col = self._db.collection("customers")
        query = col.where(filter=FieldFilter("relations_ended_at", "<", cutoff))
        query = query.order_by("relations_ended_at")
        with translated():
            if after:
                last = col.document(after).get()
                if last.exists:
                    query = query.start_after(last)
            return [s.id for s in query.limit(limit).select([]).stream()]

    def token(self, kind: str, identifier: str) -> str:
        """The person's audit pseudonym, made once: a random value, so when erasure deletes
        the mapping nothing can tie the audit entries to the person again."""
        ref = self._tokens.document(token_id(Key(kind), identifier))
        token = f"p-{secrets.token_hex(8)}"
        with translated():
            try:
                ref.create({"token": token})
                return token
            except gexc.AlreadyExists:
                return str((ref.get().to_dict() or {})["token"])

    def keep_receipt(self, receipt: Receipt) -> None:
        with translated():
            self._receipts.document(receipt.id).set(receipt.model_dump(mode="python"))
