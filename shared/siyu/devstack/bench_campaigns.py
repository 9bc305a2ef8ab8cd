"""`make bench`, campaigns: plan a 1,000,000-customer audience owned by 500 staff members.

In-process, with in-memory ports: this measures the planner (audience pages → one-a-day cap
→ grouping by sender → batches at WeCom's limit) and the batch sender, not Firestore.
"""

from __future__ import annotations

import math
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.adapters.calendar_package import package_years
from siyu.domain.campaigns import (
    BatchRecord,
    Campaign,
    CampaignBatch,
    CampaignRun,
    CampaignSpec,
    CustomerAudience,
    GroupAudience,
    Target,
)
from siyu.domain.compliance import DEFAULT_BANNED
from siyu.domain.media import MediaAsset, UploadedMedia
from siyu.services.campaigns import (
    BatchSender,
    CampaignPlanner,
    HolidayCalendar,
    ResultTracker,
)
from siyu.services.media import MediaLibrary
from siyu.services.ticks import Tick

CUSTOMERS = 1_000_000
STAFF = 500
PAGE = 1_000
NOW = datetime(2026, 11, 25, 2, 2, tzinfo=UTC)  # Wednesday 10:02 in Shanghai


class _Clock:
    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return time.monotonic()


class _Store:
    """Every repository port the planner and sender use, in dictionaries."""

    def __init__(self, campaign: Campaign, pages: list[list[Target]]) -> None:
        self.campaign = campaign
        self.pages = pages
        self.runs: dict[str, CampaignRun] = {}
        self.caps: dict[str, str] = {}
        self.records: dict[str, BatchRecord] = {}
        self.batches: list[CampaignBatch] = []
        self.wecom_calls = 0

    # campaigns, runs
    def enabled(self) -> list[Campaign]:
        return [self.campaign]

    def create(self, run: Any) -> bool:
        if run.id in self.runs:
            return False
        self.runs[run.id] = run
        return True

    def get(self, run_id: str) -> Any:
        return self.runs.get(run_id)

    def update(self, run_id: str, **fields: Any) -> None:
        self.runs[run_id] = self.runs[run_id].model_copy(update=fields)

    # audience
    def customers(
        self, audience: CustomerAudience, birthdays: Any = None
    ) -> Iterator[list[Target]]:
        yield from self.pages

    def groups(self, audience: GroupAudience) -> Iterator[list[Target]]:
        yield from ()

    # cap ledger
    def claim(self, day: str, run_id: str, targets: list[str]) -> dict[str, str]:
        caps = self.caps
        lost = {}
        for target in targets:
            holder = caps.setdefault(target, run_id)
            if holder != run_id:
                lost[target] = holder
        return lost

    # publisher
    def send(self, message: Any, ordering_key: str = "", **attributes: str) -> str:
        self.batches.append(message)
        return str(len(self.batches))

    # batch records
    def save(self, record: BatchRecord) -> None:
        self.records[record.id] = record

    def following(self, limit: int) -> list[BatchRecord]:
        return []

    # calendar years, ops tasks
    def all(self) -> list[Any]:
        return []


class _Records(_Store):
    def claim(self, record: BatchRecord) -> BatchRecord | None:  # type: ignore[override]
        if record.id in self.records:
            return self.records[record.id]
        self.records[record.id] = record
        return None


class _WeCom:
    def __init__(self) -> None:
        self.calls = 0

    def add_msg_template(self, *args: Any) -> tuple[str, list[str]]:
        self.calls += 1
        return f"msg{self.calls}", []


class _NoAssets:
    """The bench's campaign has no attachments: the library is never asked for an asset."""

    def get(self, asset_id: str) -> None:
        return None

    def get_many(self, asset_ids: list[str]) -> dict[str, MediaAsset]:
        return {}

    def put(self, asset: MediaAsset) -> None:
        raise AssertionError("the bench uploads no media")

    def all(self) -> list[MediaAsset]:
        return []


class _NoBlobs:
    def put(self, name: str, data: bytes, content_type: str) -> None:
        raise AssertionError("the bench stores no media")

    def get(self, name: str) -> bytes:
        raise AssertionError("the bench reads no media")

    def upload_media(self, kind: str, filename: str, data: bytes, ctype: str) -> UploadedMedia:
        raise AssertionError("the bench uploads no media")


def _no_media(clock: _Clock) -> MediaLibrary:
    return MediaLibrary(_NoAssets(), _NoBlobs(), _NoBlobs(), clock, timedelta(0))


def report() -> str:
    campaign = Campaign(
        id="wednesday",
        updated_at=NOW,
        **dict(
            CampaignSpec.model_validate(
                {
                    "name": "周三福利",
                    "schedule": {"kind": "weekly", "weekdays": [3], "at": "10:00"},
                    "active_from": "2026-11-01",
                    "audience": {"kind": "customers"},
                    "content": {"text": "{date}{weekday}，{campaign}"},
                }
            )
        ),
    )
    pages = [
        [Target(id=f"wm{n:07d}", owner=f"staff{n % STAFF:03d}") for n in range(s, s + PAGE)]
        for s in range(0, CUSTOMERS, PAGE)
    ]
    store: Any = _Store(campaign, pages)
    records: Any = _Records(campaign, [])
    clock: Any = _Clock()
    wecom: Any = _WeCom()
    planner = CampaignPlanner(
        store,
        store,
        store,
        store,
        store,
        HolidayCalendar(package_years(), store, clock, refresh_s=3600),
        store,
        ResultTracker(store, wecom, timedelta(days=3), timedelta(hours=2)),
        clock,
        list(DEFAULT_BANNED),
        lookback=timedelta(minutes=30),
        allow_as_of=False,
    )
    tracemalloc.start()
    started = time.perf_counter()
    planner.tick(Tick())
    plan_s = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sender = BatchSender(records, store, wecom, _no_media(clock), clock, timedelta(seconds=60))
    for batch in store.batches:
        sender.send(batch)
    per_staff = Counter(t.owner for page in pages for t in page)
    minimum = sum(math.ceil(n / 10_000) for n in per_staff.values())
    [run] = store.runs.values()
    return (
        f"campaign planning, {CUSTOMERS:,} customers owned by {STAFF} staff (in-process, "
        f"in-memory ports): {run.audience / plan_s:,.0f} targets/s ({plan_s:.2f} s); "
        f"{wecom.calls} add_msg_template calls (minimum {minimum}); "
        f"peak {peak / 2**20:,.0f} MiB traced during planning"
    )


if __name__ == "__main__":
    print(report())
