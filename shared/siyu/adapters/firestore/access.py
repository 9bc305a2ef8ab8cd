"""Ops identity in Firestore: grants, branches, staff, sessions, idempotent calls, and the
audit log, which lives in its own database so that IAM can make it append-only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import as_document, create_once, translated
from siyu.domain.access import Branch, Grant, Staff
from siyu.domain.audit import AuditEntry, AuditQuery
from siyu.domain.idempotency import CallStatus, IdempotentCall
from siyu.domain.sessions import Session


class GrantRepo:
    """`ops_grants/{userid or service email}`."""

    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("ops_grants")

    def get(self, identity: str) -> Grant | None:
        with translated():
            snap = self._col.document(identity).get()
        return Grant.model_validate(snap.to_dict()) if snap.exists else None

    def put(self, grant: Grant) -> None:
        with translated():
            self._col.document(grant.id).set(as_document(grant))

    def all(self) -> list[Grant]:
        with translated():
            return [Grant.model_validate(s.to_dict()) for s in self._col.order_by("id").stream()]


class BranchRepo:
    """`branches/{id}`: a small tree, read whole."""

    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("branches")

    def put(self, branch: Branch) -> None:
        with translated():
            self._col.document(branch.id).set(as_document(branch))

    def all(self) -> list[Branch]:
        with translated():
            return [Branch.model_validate(s.to_dict()) for s in self._col.stream()]


class StaffRepo:
    """`staff/{userid}`: the branch each customer manager works for."""

    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("staff")

    def put(self, staff: Staff) -> None:
        with translated():
            self._col.document(staff.userid).set(as_document(staff))

    def get_many(self, userids: list[str]) -> dict[str, Staff]:
        refs = [self._col.document(u) for u in dict.fromkeys(userids) if u]
        if not refs:
            return {}
        with translated():
            snaps = self._db.get_all(refs)
            return {s.id: Staff.model_validate(s.to_dict()) for s in snaps if s.exists}

    def all(self) -> list[Staff]:
        with translated():
            return [Staff.model_validate(s.to_dict()) for s in self._col.stream()]


class SessionRepo:
    """`ops_sessions/{id}`; `expire_at` is the TTL field."""

    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("ops_sessions")

    def create(self, session: Session) -> None:
        create_once(self._col.document(session.id), as_document(session))

    def get(self, session_id: str) -> Session | None:
        with translated():
            snap = self._col.document(session_id).get()
        return Session.model_validate(snap.to_dict()) if snap.exists else None

    def touch(self, session_id: str, at: datetime) -> None:
        with translated():
            self._col.document(session_id).update({"last_seen": at})

    def delete(self, session_id: str) -> None:
        with translated():
            self._col.document(session_id).delete()


class IdempotencyRepo:
    """`ops_idempotency/{sha256(actor, key)}`; `expire_at` is the TTL field."""

    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("ops_idempotency")

    def start(self, call: IdempotentCall) -> IdempotentCall | None:
        """Claim the key: None when this call claimed it, else the call that holds it."""
        ref = self._col.document(call.id)
        if create_once(ref, as_document(call)):
            return None
        with translated():
            snap = ref.get()
        # Gone between the two reads (released after a failure): the caller may retry.
        return IdempotentCall.model_validate(snap.to_dict()) if snap.exists else call

    def finish(self, call_id: str, status: int, body: str) -> None:
        with translated():
            self._col.document(call_id).update(
                {"status": CallStatus.DONE.value, "response_status": status, "response_body": body}
            )

    def release(self, call_id: str) -> None:
        """A call that failed leaves no claim: the same key may try again."""
        with translated():
            self._col.document(call_id).delete()


class AuditRepo:
    """`audit/{id}` in the audit database. Entries are only ever created: the functions'
    service accounts hold create and read on that database, never update or delete, and
    Firestore's TTL policy on `expire_at` removes them after the retention period."""

    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("audit")

    def append(self, entry: AuditEntry) -> bool:
        doc = entry.model_dump(mode="python", exclude={"before", "after"})
        doc["before"] = json.dumps(entry.before, ensure_ascii=False, default=str)
        doc["after"] = json.dumps(entry.after, ensure_ascii=False, default=str)
        return create_once(self._col.document(entry.id), doc)

    def query(self, q: AuditQuery) -> list[AuditEntry]:
        query: Any = self._col
        if q.actor:
            query = query.where(filter=FieldFilter("actor", "==", q.actor))
        if q.target:
            query = query.where(filter=FieldFilter("target", "==", q.target))
        start, end = q.window()
        if start:
            query = query.where(filter=FieldFilter("at", ">=", start))
        if end:
            query = query.where(filter=FieldFilter("at", "<", end))
        query = query.order_by("at", direction=firestore.Query.DESCENDING).limit(q.limit)
        with translated():
            return [_entry(s.to_dict() or {}) for s in query.stream()]


def _entry(doc: dict[str, Any]) -> AuditEntry:
    return AuditEntry.model_validate(
        {**doc, "before": json.loads(doc["before"]), "after": json.loads(doc["after"])}
    )
