"""Writes validated import rows with BulkWriter, a checkpoint after every flushed batch, so
an interrupted import resumes where it stopped. Documents have natural ids (chat_id, bank
customer number): a batch written twice leaves one document each."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.cloud import firestore

from siyu.adapters.firestore.store import as_document, translated
from siyu.domain import groups as grp
from siyu.domain.imports import CustomerRow, GroupRow
from siyu.ports import Clock


class Checkpoint:
    """`<dir>/<sha256 of the rows read>.json`: how many data rows are safely written."""

    def __init__(self, directory: Path, content: bytes) -> None:
        digest = hashlib.sha256(content).hexdigest()[:24]
        self.path = directory / f"{digest}.json"

    def done(self) -> int:
        if not self.path.exists():
            return 0
        return int(json.loads(self.path.read_text()).get("rows_done", 0))

    def save(self, rows_done: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rows_done": rows_done}))
        tmp.replace(self.path)  # atomic: a crash leaves the old or the new count

    def finish(self) -> None:
        self.path.unlink(missing_ok=True)


class BulkImporter:
    def __init__(self, db: firestore.Client, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def write(self, rows: list[Any], after_batch: Callable[[int], None], batch_size: int) -> None:
        """Write in batches; `after_batch(n)` runs once n rows of this call are committed."""
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            with translated():
                writer = self._db.bulk_writer()
                for row in chunk:
                    ref, data, merge = self._document(row)
                    writer.set(ref, data, merge=merge)
                writer.close()  # flushes and waits; failures are retried by the SDK
            after_batch(start + len(chunk))

    def _document(self, row: Any) -> tuple[Any, dict[str, Any], bool]:
        now = self._clock.now()
        if isinstance(row, GroupRow):
            spec = grp.GroupSpec.model_validate(row.model_dump(exclude={"chat_id"}))
            group = grp.register(None, row.chat_id, spec, now)
            data = as_document(group) | {"revised_at": firestore.SERVER_TIMESTAMP}
            # Merge: a join way made earlier by PUT /ops/groups is kept.
            data.pop("join_config_id", None)
            data.pop("join_url", None)
            return self._db.collection("groups").document(row.chat_id), data, True
        assert isinstance(row, CustomerRow)
        profile = {
            k: v for k, v in row.model_dump(include={"age", "aum_band"}).items() if v is not None
        }
        fields: dict[str, Any] = {"bank_customer_id": row.bank_customer_id}
        if row.birthday:
            # Month-day only, as BankCustomer stores it: the year is not kept.
            profile["birthday"] = fields["birthday_md"] = f"{row.birthday:%m-%d}"
        for key in ("external_userid", "unionid"):
            if getattr(row, key):
                fields[key] = getattr(row, key)
        if profile:
            fields["profile"] = profile
        ref = self._db.collection("bank_customers").document(row.bank_customer_id)
        return ref, fields, True
