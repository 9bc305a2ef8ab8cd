"""Campaign collections: campaigns, runs, the daily 群发 cap, batch records, audiences, and
the official calendar years ops loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.bulk_writer import BulkWriteFailure, BulkWriter
from google.cloud.firestore_v1.field_path import FieldPath

from siyu.adapters.firestore.store import as_document, create_once, translated
from siyu.domain.calendar import OfficialYear
from siyu.domain.campaigns import (
    BatchRecord,
    Campaign,
    CampaignRun,
    CustomerAudience,
    GroupAudience,
    Target,
)
from siyu.domain.customers import Customer
from siyu.domain.errors import TransientError
from siyu.domain.groups import Group, GroupStatus
from siyu.ports import Clock

PAGE = 500
ALREADY_EXISTS = 6  # gRPC status code
# Kept 90 days: the day's cap needs a day, the customer's timeline shows the 群发 sent them.
CAP_TTL = timedelta(days=90)


class CampaignRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("campaigns")

    def put(self, campaign: Campaign) -> None:
        with translated():
            self._col.document(campaign.id).set(campaign.model_dump(mode="json"))

    def get(self, campaign_id: str) -> Campaign | None:
        with translated():
            snap = self._col.document(campaign_id).get()
        return Campaign.model_validate(snap.to_dict()) if snap.exists else None

    def enabled(self) -> list[Campaign]:
        query = self._col.where(filter=FieldFilter("enabled", "==", True))
        with translated():
            return [Campaign.model_validate(s.to_dict()) for s in query.stream()]

    def all(self) -> list[Campaign]:
        with translated():
            return [Campaign.model_validate(s.to_dict()) for s in self._col.stream()]


class CampaignRunRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("campaign_runs")

    def create(self, run: CampaignRun) -> bool:
        return create_once(self._col.document(run.id), as_document(run))

    def get(self, run_id: str) -> CampaignRun | None:
        with translated():
            snap = self._col.document(run_id).get()
        return CampaignRun.model_validate(snap.to_dict()) if snap.exists else None

    def update(self, run_id: str, **fields: Any) -> None:
        with translated():
            self._col.document(run_id).update(fields)

    def for_campaign(self, campaign_id: str, limit: int) -> list[CampaignRun]:
        query = (
            self._col.where(filter=FieldFilter("campaign_id", "==", campaign_id))
            .order_by("created_at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        with translated():
            return [CampaignRun.model_validate(s.to_dict()) for s in query.stream()]


class CapLedger:
    """`mass_caps/{day}_{sha256(target)}`: created by the first run that sends to the target
    that day, with BulkWriter (a create per target, no transaction); expires after 90 days."""

    def __init__(self, db: firestore.Client, clock: Clock) -> None:
        self._db = db
        self._col = db.collection("mass_caps")
        self._clock = clock

    def _ref(self, day: str, target: str) -> firestore.DocumentReference:
        return self._col.document(f"{day}_{hashlib.sha256(target.encode()).hexdigest()[:32]}")

    def claim(self, day: str, run_id: str, targets: list[str]) -> dict[str, str]:
        now = self._clock.now()
        refs = {self._ref(day, t).path: t for t in targets}
        taken: list[str] = []
        failures: list[str] = []

        def on_error(failure: BulkWriteFailure, _writer: BulkWriter) -> bool:
            if failure.code == ALREADY_EXISTS:
                taken.append(refs[failure.operation.reference.path])  # type: ignore[attr-defined]
                return False
            if failure.attempts < 5:
                return True  # the SDK backs off and retries
            failures.append(failure.message)
            return False

        with translated():
            writer = self._db.bulk_writer()
            writer.on_write_error(on_error)
            for target in targets:
                writer.create(
                    self._ref(day, target),
                    {"run_id": run_id, "target": target, "expire_at": now + CAP_TTL},
                )
            writer.close()
            if failures:
                raise TransientError(f"cap claims failed: {failures[0]}")
            holders = {}
            for start in range(0, len(taken), 300):
                chunk = [self._ref(day, t) for t in taken[start : start + 300]]
                for snap in self._db.get_all(chunk):
                    data = snap.to_dict() or {}
                    holders[refs[snap.reference.path]] = str(data.get("run_id", ""))
        # A run taking over its own half-done planning holds its claims already.
        return {t: holder for t, holder in holders.items() if holder != run_id}

    def of_target(self, target: str, limit: int) -> list[tuple[str, str]]:
        """(day, run id) of the 群发 claimed for one customer or group in the last 90 days."""
        query = self._col.where(filter=FieldFilter("target", "==", target)).limit(limit)
        with translated():
            found = [
                (s.id.split("_", 1)[0], str((s.to_dict() or {}).get("run_id", "")))
                for s in query.stream()
            ]
        return sorted(found, reverse=True)


class CampaignBatchRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("campaign_batches")

    @staticmethod
    def _doc(record: BatchRecord) -> dict[str, Any]:
        # `following`: sent to WeCom, results not final (a single-field query for the tick).
        return as_document(record) | {"following": bool(record.msgid) and not record.final}

    def claim(self, record: BatchRecord) -> BatchRecord | None:
        ref = self._col.document(record.id)
        if create_once(ref, self._doc(record)):
            return None
        with translated():
            return BatchRecord.model_validate(ref.get().to_dict())

    def save(self, record: BatchRecord) -> None:
        with translated():
            self._col.document(record.id).set(self._doc(record))

    def following(self, limit: int) -> list[BatchRecord]:
        query = self._col.where(filter=FieldFilter("following", "==", True)).limit(limit)
        with translated():
            return [BatchRecord.model_validate(s.to_dict()) for s in query.stream()]

    def for_run(self, run_id: str) -> list[BatchRecord]:
        query = self._col.where(filter=FieldFilter("run_id", "==", run_id))
        with translated():
            return [BatchRecord.model_validate(s.to_dict()) for s in query.stream()]


class AudienceSource:
    """Audiences read a page at a time in document-id order; one server-side filter (the
    most selective the audience offers), the rest checked on each document."""

    def __init__(self, db: firestore.Client, page: int = PAGE) -> None:
        self._db = db
        self._customers = db.collection("customers")
        self._groups = db.collection("groups")
        self._bank_customers = db.collection("bank_customers")
        self._page = page

    def _pages(self, query: Any) -> Iterator[list[firestore.DocumentSnapshot]]:
        query = query.order_by(FieldPath.document_id()).limit(self._page)
        last = None
        while True:
            page_query = query.start_after(last) if last is not None else query
            with translated():
                snaps = list(page_query.stream())
            if not snaps:
                return
            yield snaps
            if len(snaps) < self._page:
                return
            last = snaps[-1]

    def customers(
        self, audience: CustomerAudience, birthdays: list[str] | None = None
    ) -> Iterator[list[Target]]:
        if birthdays is not None:
            yield from self._birthday_customers(audience, birthdays)
            return
        sets = audience.tag_sets()
        query: Any = self._customers
        if sets:
            narrowest = min(sets, key=len)
            if len(narrowest) <= 30:  # Firestore's limit for array-contains-any
                query = query.where(
                    filter=FieldFilter("tag_names", "array_contains_any", sorted(narrowest))
                )
        for snaps in self._pages(query):
            yield self._admitted(audience, snaps)

    def _birthday_customers(
        self, audience: CustomerAudience, birthdays: list[str]
    ) -> Iterator[list[Target]]:
        query = self._bank_customers.where(filter=FieldFilter("birthday_md", "in", birthdays))
        for snaps in self._pages(query):
            ids = [str((s.to_dict() or {}).get("external_userid", "")) for s in snaps]
            refs = [self._customers.document(i) for i in ids if i]
            with translated():
                found = [s for s in self._db.get_all(refs) if s.exists]
            yield self._admitted(audience, found)

    @staticmethod
    def _admitted(
        audience: CustomerAudience, snaps: list[firestore.DocumentSnapshot]
    ) -> list[Target]:
        targets = []
        for snap in snaps:
            customer = Customer.model_validate(snap.to_dict())
            owner = customer.owner_userid
            if owner and audience.admits(set(customer.tag_names)):
                targets.append(
                    Target(
                        id=customer.external_userid,
                        owner=owner,
                        opted_out=customer.refuses_marketing,
                    )
                )
        return targets

    def groups(self, audience: GroupAudience) -> Iterator[list[Target]]:
        query: Any = self._groups
        if audience.cities and len(audience.cities) <= 30:
            query = query.where(filter=FieldFilter("city", "in", audience.cities))
        elif audience.kinds and len(audience.kinds) <= 30:
            query = query.where(filter=FieldFilter("kind", "in", audience.kinds))
        for snaps in self._pages(query):
            targets = []
            for snap in snaps:
                group = Group.model_validate(snap.to_dict())
                if (
                    group.status is GroupStatus.OPEN
                    and group.owner_userid
                    and audience.admits(group)
                ):
                    targets.append(Target(id=group.chat_id, owner=group.owner_userid))
            yield targets


class CalendarRepo:
    def __init__(self, db: firestore.Client) -> None:
        self._col = db.collection("calendar_years")

    def put(self, year: OfficialYear) -> None:
        with translated():
            self._col.document(str(year.year)).set(year.model_dump(mode="json"))

    def all(self) -> list[OfficialYear]:
        with translated():
            return [OfficialYear.model_validate(s.to_dict()) for s in self._col.stream()]
