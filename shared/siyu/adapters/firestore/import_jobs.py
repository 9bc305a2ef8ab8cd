"""`import_jobs/{id}`: the console's imports and how far each has come."""

from __future__ import annotations

from google.cloud import firestore

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain.imports import ImportJob


class ImportJobRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("import_jobs")

    def get(self, job_id: str) -> ImportJob | None:
        with translated():
            snap = self._col.document(job_id).get()
        return ImportJob.model_validate(snap.to_dict()) if snap.exists else None

    def put(self, job: ImportJob) -> None:
        with translated():
            self._col.document(job.id).set(as_document(job))
