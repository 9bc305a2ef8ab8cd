"""The content library's records and the group QR codes, in Firestore."""

from __future__ import annotations

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain.group_codes import GroupCode
from siyu.domain.media import MediaAsset


class MediaRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("media")

    def get(self, asset_id: str) -> MediaAsset | None:
        with translated():
            snap = self._col.document(asset_id).get()
        return MediaAsset.model_validate(snap.to_dict()) if snap.exists else None

    def get_many(self, asset_ids: list[str]) -> dict[str, MediaAsset]:
        """One batched read for every attachment of a message."""
        refs = [self._col.document(a) for a in dict.fromkeys(asset_ids)]
        with translated():
            snaps = list(self._db.get_all(refs))
        found = (MediaAsset.model_validate(s.to_dict()) for s in snaps if s.exists)
        return {a.id: a for a in found}

    def put(self, asset: MediaAsset) -> None:
        with translated():
            self._col.document(asset.id).set(as_document(asset))

    def all(self) -> list[MediaAsset]:
        with translated():
            return [MediaAsset.model_validate(s.to_dict()) for s in self._col.stream()]


class GroupCodeRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("group_codes")

    def get(self, code_id: str) -> GroupCode | None:
        with translated():
            snap = self._col.document(code_id).get()
        return GroupCode.model_validate(snap.to_dict()) if snap.exists else None

    def put(self, code: GroupCode) -> None:
        with translated():
            self._col.document(code.id).set(as_document(code))

    def all(self) -> list[GroupCode]:
        with translated():
            return [GroupCode.model_validate(s.to_dict()) for s in self._col.stream()]

    def holding(self, chat_id: str) -> list[GroupCode]:
        query = self._col.where(filter=FieldFilter("chat_ids", "array_contains", chat_id))
        with translated():
            return [GroupCode.model_validate(s.to_dict()) for s in query.stream()]
