"""Firestore repositories: exactly-once markers, the welcome ledger and entity documents."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath
from pydantic import BaseModel

from siyu.domain.bank_customers import BankCustomer, BankCustomerLink
from siyu.domain.channels import Channel, is_valid_state
from siyu.domain.customers import Customer
from siyu.domain.errors import TransientError
from siyu.domain.followups import CLOSED, Followup, FollowupReason, FollowupStatus
from siyu.domain.groups import Group, GroupStatus
from siyu.domain.ops_tasks import OpsTask
from siyu.domain.tag_rules import TagRule
from siyu.domain.tags import CorpTag
from siyu.domain.transfers import Transfer
from siyu.domain.welcome import WelcomeClaim, WelcomeStatus, may_claim
from siyu.ports import Clock

M = TypeVar("M", bound=BaseModel)


class _Contended(TransientError):
    """Another transaction holds the document; worth waiting out before giving up."""


# Waits between attempts at a contended transaction: 15.5 s in all, inside the push
# subscription's 60-s acknowledgement deadline.
_CONTENTION_PAUSES_S = (0.5, 1.0, 2.0, 4.0, 8.0)

_TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.Aborted,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.RetryError,
)


@contextmanager
def translated() -> Iterator[None]:
    """SDK failures worth retrying become TransientError; by type, never by message text."""
    try:
        yield
    except _TRANSIENT as exc:
        raise TransientError(f"firestore: {type(exc).__name__}") from exc


def create_once(ref: firestore.DocumentReference, doc: dict[str, Any], **options: Any) -> bool:
    """Create the document unless it exists: True if this call created it. Firestore decides
    atomically, so of any number of concurrent callers exactly one gets True."""
    with translated():
        try:
            ref.create(doc, **options)
        except gexc.AlreadyExists:
            return False
    return True


def as_document(model: BaseModel) -> dict[str, Any]:
    """Firestore stores datetimes but not dates: a date (birthday, campaign day) is stored
    as its ISO text, which pydantic reads back as a date."""
    return _storable(model.model_dump(mode="python"))  # type: ignore[no-any-return]


def _storable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


class Dedupe:
    """`dedupe/{key}` markers with an `expire_at` field the TTL policy deletes."""

    def __init__(self, db: firestore.Client, clock: Clock, ttl_days: int) -> None:
        self._col = db.collection("dedupe")
        self._clock = clock
        self._ttl = timedelta(days=ttl_days)

    def claim(self, key: str, **fields: Any) -> bool:
        now = self._clock.now()
        doc = {**fields, "created_at": now, "expire_at": now + self._ttl}
        return create_once(self._col.document(key), doc)

    def get(self, key: str) -> dict[str, Any] | None:
        with translated():
            snap = self._col.document(key).get()
        return snap.to_dict() if snap.exists else None

    def update(self, key: str, **fields: Any) -> None:
        with translated():
            self._col.document(key).set(fields, merge=True)

    def release(self, key: str) -> None:
        with translated():
            self._col.document(key).delete()


class WelcomeLedger:
    """`welcomes/{sha256(code)}`: who holds a WelcomeCode and how it ended."""

    def __init__(self, db: firestore.Client, clock: Clock) -> None:
        self._db = db
        self._col = db.collection("welcomes")
        self._clock = clock

    def _ref(self, code: str) -> firestore.DocumentReference:
        return self._col.document(hashlib.sha256(code.encode()).hexdigest())

    def claim(self, code: str, owner: str, stale_after_s: float) -> WelcomeClaim:
        ref = self._ref(code)
        now = self._clock.now()

        @firestore.transactional
        def run(tx: firestore.Transaction) -> WelcomeClaim:
            snap = ref.get(transaction=tx)
            claim = may_claim(snap.to_dict() if snap.exists else None, owner, now, stale_after_s)
            if claim.granted:
                tx.set(
                    ref,
                    {
                        "owner": owner,
                        "status": WelcomeStatus.SENDING.value,
                        "claimed_at": now,
                        "expire_at": now + timedelta(days=1),
                    },
                    merge=True,
                )
            return claim

        with translated():
            return run(self._db.transaction())

    def finish(self, code: str, status: WelcomeStatus, latency_ms: float | None = None) -> None:
        fields: dict[str, Any] = {"status": status.value, "finished_at": self._clock.now()}
        if latency_ms is not None:
            fields["latency_ms"] = latency_ms
        with translated():
            self._ref(code).set(fields, merge=True)


class _OnceRepo:
    """Entity documents changed in one transaction with the event's processed marker."""

    collection: str
    model: type[BaseModel]

    def __init__(self, db: firestore.Client, clock: Clock, ttl_days: int = 7) -> None:
        self._db = db
        self._col = db.collection(self.collection)
        self._markers = db.collection("dedupe")
        self._clock = clock
        self._ttl = timedelta(days=ttl_days)

    def _stored(self, model: BaseModel) -> dict[str, Any]:
        return as_document(model)

    def _get(self, doc_id: str) -> Any:
        with translated():
            snap = self._col.document(doc_id).get()
        return self.model.model_validate(snap.to_dict()) if snap.exists else None

    def _update_once(self, event_key: str, doc_id: str, change: Callable[[Any], BaseModel]) -> bool:
        ref = self._col.document(doc_id)
        marker = self._markers.document(f"ev-{event_key}")
        now = self._clock.now()

        @firestore.transactional
        def run(tx: firestore.Transaction) -> bool:
            # Firestore transactions read everything before they write.
            if marker.get(transaction=tx).exists:
                return False
            snap = ref.get(transaction=tx)
            current = self.model.model_validate(snap.to_dict()) if snap.exists else None
            tx.set(ref, self._stored(change(current)))
            tx.set(marker, {"created_at": now, "expire_at": now + self._ttl, "doc": ref.path})
            return True

        def attempt() -> bool:
            with translated():
                try:
                    return bool(run(self._db.transaction()))
                except ValueError as exc:
                    # The SDK gives up on a contended document with a ValueError caused
                    # by Aborted.
                    if isinstance(exc.__cause__, gexc.Aborted):
                        raise _Contended("firestore: transaction contended") from exc
                    raise

        # A contended document (another writer, or the lock of a worker killed mid-
        # transaction) is waited out here with backoff, so contention does not spend
        # Pub/Sub's few delivery attempts within seconds; the last try's error propagates.
        for pause in _CONTENTION_PAUSES_S:
            try:
                return attempt()
            except _Contended:
                time.sleep(pause)
        return attempt()


class CustomerRepo(_OnceRepo):
    collection = "customers"
    model = Customer

    def of_staff(self, staff_userid: str) -> list[str]:
        query = self._col.where(filter=FieldFilter("active_staff", "array_contains", staff_userid))
        with translated():
            return sorted(snap.id for snap in query.select([]).stream())

    def get(self, external_userid: str) -> Customer | None:
        return self._get(external_userid)  # type: ignore[no-any-return]

    def update_once(
        self, event_key: str, external_userid: str, change: Callable[[Customer | None], Customer]
    ) -> bool:
        return self._update_once(event_key, external_userid, change)


class GroupRepo(_OnceRepo):
    collection = "groups"
    model = Group

    def get(self, chat_id: str) -> Group | None:
        return self._get(chat_id)  # type: ignore[no-any-return]

    def update_once(
        self, event_key: str, chat_id: str, change: Callable[[Group | None], Group]
    ) -> bool:
        return self._update_once(event_key, chat_id, change)

    def _stored(self, model: BaseModel) -> dict[str, Any]:
        # Server time of the write, so card-alert instances can fetch only what changed;
        # `has_welcome` for the single-field query of the groups that carry a template.
        welcome = isinstance(model, Group) and model.welcome is not None
        return {
            **as_document(model),
            "revised_at": firestore.SERVER_TIMESTAMP,
            "has_welcome": welcome,
        }

    def put(self, group: Group) -> None:
        with translated():
            self._col.document(group.chat_id).set(self._stored(group))

    def listed(self, city: str, after: str, limit: int) -> list[Group]:
        """By document id (the chat id), which needs no composite index beside `city`."""
        query = self._col.order_by(FieldPath.document_id())
        if city:
            query = query.where(filter=FieldFilter("city", "==", city))
        if after:
            query = query.start_after({FieldPath.document_id(): after})
        with translated():
            return [Group.model_validate(s.to_dict()) for s in query.limit(limit).stream()]

    def owned_by(self, userid: str) -> list[Group]:
        query = self._col.where(filter=FieldFilter("owner_userid", "==", userid))
        with translated():
            found = [Group.model_validate(s.to_dict()) for s in query.stream()]
        return [g for g in found if g.status is GroupStatus.OPEN]

    def with_welcome(self) -> list[Group]:
        query = self._col.where(filter=FieldFilter("has_welcome", "==", True))
        with translated():
            return [Group.model_validate(s.to_dict()) for s in query.stream()]

    def changed_since(self, watermark: Any) -> tuple[list[Group], Any]:
        query = self._col.order_by("revised_at")
        if watermark is not None:
            # Strictly after: one query reads one consistent snapshot, so every write with
            # the watermark's commit time was already in the result that produced it.
            query = query.where(filter=FieldFilter("revised_at", ">", watermark))
        groups, latest = [], watermark
        with translated():
            for snap in query.stream():
                doc = snap.to_dict() or {}
                groups.append(Group.model_validate(doc))
                latest = doc.get("revised_at", latest)
        return groups, latest


# A card alert reads these fields only; the rest of a bank customer's document (profile,
# aggregates, answers, tags) is neither sent, decoded nor validated on the hot path.
ALERT_FIELDS = ["groups", "invites", "marketing_opt_out"]


class BankCustomerRepo(_OnceRepo):
    """`bank_customers/{id}`: the card-alert hot path's single read and rare conditional
    write; business events change it in a transaction with their processed marker."""

    collection = "bank_customers"
    model = BankCustomer

    def update_once(
        self,
        event_key: str,
        bank_customer_id: str,
        change: Callable[[BankCustomer | None], BankCustomer],
    ) -> bool:
        return self._update_once(event_key, bank_customer_id, change)

    def get(self, bank_customer_id: str) -> tuple[BankCustomer | None, Any]:
        with translated():
            snap = self._col.document(bank_customer_id).get()
        if not snap.exists:
            return None, None
        return BankCustomer.model_validate(snap.to_dict()), snap.update_time

    def for_alert(self, bank_customer_id: str) -> tuple[BankCustomer | None, Any]:
        with translated():
            snap = self._col.document(bank_customer_id).get(field_paths=ALERT_FIELDS)
        if not snap.exists:
            return None, None
        known = {"bank_customer_id": bank_customer_id, **(snap.to_dict() or {})}
        return BankCustomer.model_validate(known), snap.update_time

    def record_invite(self, customer: BankCustomer, version: Any) -> bool:
        if version is None:
            return self.save_if_unchanged(customer, None)
        ref = self._col.document(customer.bank_customer_id)
        invites = as_document(customer)["invites"]
        with translated():
            try:
                ref.update(
                    {"invites": invites}, option=self._db.write_option(last_update_time=version)
                )
            except gexc.FailedPrecondition:
                return False
        return True

    def save_if_unchanged(self, customer: BankCustomer, version: Any) -> bool:
        ref = self._col.document(customer.bank_customer_id)
        with translated():
            try:
                if version is None:
                    ref.create(as_document(customer))
                else:
                    # update() replaces each top-level field it names; only it takes a
                    # precondition on the version read.
                    option = self._db.write_option(last_update_time=version)
                    ref.update(as_document(customer), option=option)
            except (gexc.AlreadyExists, gexc.FailedPrecondition):
                return False
        return True

    def link(self, bank_customer_id: str, link: BankCustomerLink, at: datetime) -> BankCustomer:
        ref = self._col.document(bank_customer_id)
        fields: dict[str, Any] = {"bank_customer_id": bank_customer_id}
        fields |= {
            k: v
            for k, v in (("external_userid", link.external_userid), ("unionid", link.unionid))
            if v
        }
        if link.marketing_opt_out is not None:
            fields |= {"marketing_opt_out": link.marketing_opt_out, "consent_at": at}
        with translated():
            ref.set(fields, merge=True)
            return BankCustomer.model_validate(ref.get().to_dict())

    def due(self, now: datetime, limit: int) -> list[tuple[BankCustomer, Any]]:
        query = (
            self._col.where(filter=FieldFilter("next_relayer_at", "<=", now))
            .order_by("next_relayer_at")
            .limit(limit)
        )
        return self._versioned(query)

    def page(self, after: str, limit: int) -> list[tuple[BankCustomer, Any]]:
        query = self._col.order_by(FieldPath.document_id())
        if after:
            query = query.start_after({FieldPath.document_id(): after})
        return self._versioned(query.limit(limit))

    @staticmethod
    def _versioned(query: Any) -> list[tuple[BankCustomer, Any]]:
        with translated():
            return [
                (BankCustomer.model_validate(s.to_dict()), s.update_time) for s in query.stream()
            ]

    def find_linked(self, external_userids: list[str], unionids: list[str]) -> list[str]:
        found: set[str] = set()
        with translated():
            for field, values in (("external_userid", external_userids), ("unionid", unionids)):
                values = sorted({v for v in values if v})
                for start in range(0, len(values), 30):  # Firestore's `in` takes 30 values
                    chunk = values[start : start + 30]
                    query = self._col.where(filter=FieldFilter(field, "in", chunk))
                    found |= {snap.id for snap in query.stream()}
        return sorted(found)

    def in_group(self, chat_id: str) -> list[str]:
        query = self._col.where(filter=FieldFilter("groups", "array_contains", chat_id))
        with translated():
            return sorted(snap.id for snap in query.stream())

    def set_membership(self, bank_customer_ids: list[str], chat_id: str, member: bool) -> None:
        change = firestore.ArrayUnion([chat_id]) if member else firestore.ArrayRemove([chat_id])
        with translated():
            for start in range(0, len(bank_customer_ids), 400):
                batch = self._db.batch()
                for bid in bank_customer_ids[start : start + 400]:
                    batch.set(
                        self._col.document(bid),
                        {"bank_customer_id": bid, "groups": change},
                        merge=True,
                    )
                batch.commit()


class OpsTaskRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("ops_tasks")

    def create(self, task: OpsTask) -> bool:
        return create_once(self._col.document(task.id), as_document(task))

    def list_open(self) -> list[OpsTask]:
        query = self._col.where(filter=FieldFilter("status", "==", "open")).limit(500)
        with translated():
            return [OpsTask.model_validate(snap.to_dict()) for snap in query.stream()]


class TagRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("tags")

    def put_many(self, tags: list[CorpTag]) -> None:
        with translated():
            for start in range(0, len(tags), 400):
                batch = self._db.batch()
                for tag in tags[start : start + 400]:
                    batch.set(self._col.document(tag.id), as_document(tag))
                batch.commit()

    def mark_deleted(self, tag_ids: list[str]) -> None:
        with translated():
            batch = self._db.batch()
            for tag_id in tag_ids:
                batch.set(self._col.document(tag_id), {"id": tag_id, "deleted": True}, merge=True)
            batch.commit()

    def mark_group_deleted(self, group_id: str) -> list[str]:
        query = self._col.where(filter=FieldFilter("group_id", "==", group_id))
        with translated():
            ids = [snap.id for snap in query.stream()]
        self.mark_deleted(ids)
        return ids


class ChannelRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("channels")

    def get(self, state: str) -> Channel | None:
        if not is_valid_state(state):
            return None  # an add carrying a state no channel of ours could have
        with translated():
            snap = self._col.document(state).get()
        return Channel.model_validate(snap.to_dict()) if snap.exists else None

    def put(self, channel: Channel) -> None:
        with translated():
            self._col.document(channel.state).set(as_document(channel))

    def all(self) -> list[Channel]:
        with translated():
            return [Channel.model_validate(s.to_dict()) for s in self._col.stream()]


class FollowupRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._db = db
        self._col = db.collection("followups")

    def create(self, followup: Followup) -> bool:
        return create_once(self._col.document(followup.id), as_document(followup))

    def due(self, now: datetime, limit: int) -> list[Followup]:
        query = (
            self._col.where(filter=FieldFilter("status", "==", FollowupStatus.OPEN.value))
            .where(filter=FieldFilter("due_at", "<=", now))
            .order_by("due_at")
            .limit(limit)
        )
        with translated():
            return [Followup.model_validate(s.to_dict()) for s in query.stream()]

    def for_staff(self, staff_userid: str, status: str, limit: int) -> list[Followup]:
        query = (
            self._col.where(filter=FieldFilter("staff_userid", "==", staff_userid))
            .where(filter=FieldFilter("status", "==", status))
            .order_by("due_at")
            .limit(limit)
        )
        with translated():
            return [Followup.model_validate(s.to_dict()) for s in query.stream()]

    def of_customer(self, external_userid: str, limit: int) -> list[Followup]:
        query = self._col.where(filter=FieldFilter("external_userid", "==", external_userid))
        with translated():
            found = [Followup.model_validate(s.to_dict()) for s in query.limit(limit).stream()]
        return sorted(found, key=lambda f: f.due_at)

    def mark_sent(self, ids: list[str], at: datetime) -> None:
        with translated():
            for start in range(0, len(ids), 400):
                batch = self._db.batch()
                for fid in ids[start : start + 400]:
                    batch.update(
                        self._col.document(fid),
                        {"status": FollowupStatus.SENT.value, "sent_at": at},
                    )
                batch.commit()

    def get(self, followup_id: str) -> Followup | None:
        with translated():
            snap = self._col.document(followup_id).get()
        return Followup.model_validate(snap.to_dict()) if snap.exists else None

    def save(self, followup: Followup) -> None:
        with translated():
            self._col.document(followup.id).set(as_document(followup))

    def open_of(
        self, external_userid: str, staff_userid: str, reason: FollowupReason
    ) -> list[Followup]:
        return self._not_closed(
            self._col.where(filter=FieldFilter("external_userid", "==", external_userid))
            .where(filter=FieldFilter("staff_userid", "==", staff_userid))
            .where(filter=FieldFilter("reason", "==", reason.value))
        )

    def open_journey(self, bank_customer_id: str, journey: str) -> list[Followup]:
        return self._not_closed(
            self._col.where(filter=FieldFilter("bank_customer_id", "==", bank_customer_id)).where(
                filter=FieldFilter("journey", "==", journey)
            )
        )

    @staticmethod
    def _not_closed(query: Any) -> list[Followup]:
        """Equality filters only (no composite index); the few closed ones are dropped here."""
        with translated():
            found = [Followup.model_validate(s.to_dict()) for s in query.stream()]
        return [f for f in found if f.status not in CLOSED]


class TagRuleRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("tag_rules")

    def put(self, rule: TagRule) -> None:
        with translated():
            self._col.document(rule.id).set(rule.model_dump(mode="json", by_alias=True))

    def get(self, rule_id: str) -> TagRule | None:
        with translated():
            snap = self._col.document(rule_id).get()
        return TagRule.model_validate(snap.to_dict()) if snap.exists else None

    def delete(self, rule_id: str) -> bool:
        ref = self._col.document(rule_id)
        with translated():
            if not ref.get().exists:
                return False
            ref.delete()
        return True

    def all(self) -> list[TagRule]:
        with translated():
            return [TagRule.model_validate(s.to_dict()) for s in self._col.stream()]


class TransferRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("transfers")

    def put(self, transfer: Transfer) -> None:
        with translated():
            self._col.document(transfer.id).set(as_document(transfer))

    def get(self, transfer_id: str) -> Transfer | None:
        with translated():
            snap = self._col.document(transfer_id).get()
        return Transfer.model_validate(snap.to_dict()) if snap.exists else None

    def recent(self, limit: int) -> list[Transfer]:
        query = self._col.order_by("created_at", direction=firestore.Query.DESCENDING)
        with translated():
            return [Transfer.model_validate(s.to_dict()) for s in query.limit(limit).stream()]
