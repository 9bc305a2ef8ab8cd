"""`group_directory/manifest` and `group_directory/{version}-{n}`: the snapshot of the groups."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import translated
from siyu.domain.errors import TransientError
from siyu.domain.group_directory import Manifest

_MANIFEST = "manifest"


class GroupDirectoryRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("group_directory")

    def manifest(self) -> Manifest | None:
        with translated():
            snap = self._col.document(_MANIFEST).get()
        return Manifest.model_validate(snap.to_dict()) if snap.exists else None

    def parts(self, manifest: Manifest) -> list[bytes]:
        refs = [self._col.document(pid) for pid in manifest.part_ids()]
        with translated():
            found = {s.id: (s.to_dict() or {}).get("data") for s in self._db.get_all(refs)}
        parts = [found.get(pid) for pid in manifest.part_ids()]
        blobs = [p for p in parts if isinstance(p, bytes)]
        if len(blobs) != len(parts):
            # Replaced and pruned between the two reads: the next attempt reads the new one.
            raise TransientError("group directory changed while it was read")
        return blobs

    def publish(self, manifest: Manifest, parts: list[bytes], previous: Manifest | None) -> None:
        with translated():
            for pid, blob in zip(manifest.part_ids(), parts, strict=True):
                self._col.document(pid).set({"data": blob, "version": manifest.version})
            self._col.document(_MANIFEST).set(manifest.model_dump(mode="python"))
            # A reader that took the previous manifest may still be reading its parts.
            keep = {manifest.version, previous.version if previous else ""}
            stale: list[Any] = [
                s.reference
                for s in self._col.where(
                    filter=FieldFilter("version", "not-in", sorted(keep))
                ).stream()
                if s.id != _MANIFEST
            ]
            for ref in stale:
                ref.delete()
