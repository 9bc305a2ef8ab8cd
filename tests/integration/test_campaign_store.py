"""Campaign adapters on the Firestore emulator: the daily cap with BulkWriter creates,
paginated audiences, runs created once, batch records."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from functools import partial

from siyu import bootstrap
from siyu.adapters.clock import SystemClock
from siyu.adapters.firestore.campaigns import (
    AudienceSource,
    CampaignBatchRepo,
    CampaignRunRepo,
    CapLedger,
)
from siyu.domain import customers as cust
from siyu.domain.bank_customers import BankCustomer, KnownProfile
from siyu.domain.campaigns import (
    BatchRecord,
    CampaignRun,
    CustomerAudience,
    GroupAudience,
    Occurrence,
)
from siyu.domain.customers import CustomerTag, TagSource
from siyu.domain.groups import Group, Location

AT = datetime(2026, 11, 25, 2, tzinfo=UTC)


def test_the_daily_cap_is_claimed_once_per_target_across_runs(cloud) -> None:
    caps = CapLedger(bootstrap.root().db(), SystemClock())
    targets = [f"single:wm{i}" for i in range(120)]
    assert caps.claim("2026-11-25", "a@1", targets[:80]) == {}
    lost = caps.claim("2026-11-25", "b@1", targets)
    assert lost == {t: "a@1" for t in targets[:80]}
    assert caps.claim("2026-11-25", "b@1", targets[80:]) == {}  # b taking over its own claims
    assert caps.claim("2026-11-26", "c@1", targets[:3]) == {}  # a new day


def test_concurrent_runs_split_the_targets_without_overlap(cloud) -> None:
    caps = CapLedger(bootstrap.root().db(), SystemClock())
    targets = [f"single:wm{i}" for i in range(60)]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda r: caps.claim("2026-11-27", r, targets), ["x", "y", "z"]))
    won = [set(targets) - set(lost) for lost in results]
    assert sum(len(w) for w in won) == 60 and set().union(*won) == set(targets)


def customer(ext: str, staff: str, tags: list[str]) -> None:
    c = cust.add_relation(cust.new_customer(ext, AT), staff, "", AT)
    c = cust.merge_tags(
        c,
        [
            CustomerTag(id=t, name=t.split("/")[1], group=t.split("/")[0], source=TagSource.RULE)
            for t in tags
        ],
        AT,
    )
    bootstrap.root().stores().customers.update_once(f"seed-{ext}", ext, lambda _c: c)


def test_customer_audiences_are_read_page_by_page_with_tag_filters(cloud) -> None:
    for i in range(23):
        tags = ["生命周期/复购"] + (["兴趣/基金"] if i % 2 else [])
        customer(f"wm{i:02d}", f"staff{i % 4}", tags)
    customer("wm_new", "staff0", ["生命周期/新客"])
    source = AudienceSource(bootstrap.root().db(), page=5)
    audience = CustomerAudience(kind="customers", stages=["repeat"], tags=["兴趣/基金"])
    pages = list(source.customers(audience))
    assert len(pages) >= 3
    found = sorted(t.id for page in pages for t in page)
    assert found == [f"wm{i:02d}" for i in range(23) if i % 2]
    everyone = [t for page in source.customers(CustomerAudience(kind="customers")) for t in page]
    assert len(everyone) == 24 and {t.owner for t in everyone} == {f"staff{i}" for i in range(4)}


def test_birthday_audiences_come_from_bank_customers(cloud) -> None:
    customer("wm_bday", "staff1", [])
    customer("wm_other", "staff1", [])
    repo = bootstrap.root().stores().bank_customers
    for bcid, ext, birthday in [
        ("b1", "wm_bday", date(1990, 11, 25)),
        ("b2", "wm_other", date(1990, 3, 1)),
    ]:
        repo.update_once(
            f"seed-{bcid}",
            bcid,
            partial(seeded, bcid, ext, birthday),
        )
    source = AudienceSource(bootstrap.root().db())
    found = [
        t for page in source.customers(CustomerAudience(kind="customers"), ["11-25"]) for t in page
    ]
    assert [(t.id, t.owner) for t in found] == [("wm_bday", "staff1")]


def test_group_audiences_by_city_and_tag_skip_closed_and_unregistered_groups(cloud) -> None:
    repo = bootstrap.root().stores().groups
    loc = Location(
        lat=31.2,
        lng=121.4,
        geohash="wtw3s",
        source_lat=31.2,
        source_lng=121.4,
        source_system="wgs84",
    )
    for chat, city, tags, status, registered in [
        ("wr1", "上海", ["早餐"], "open", True),
        ("wr2", "上海", ["晚餐"], "open", True),
        ("wr3", "上海", ["早餐"], "dismissed", True),
        ("wr4", "上海", ["早餐"], "open", False),
        ("wr5", "深圳", ["早餐"], "open", True),
    ]:
        repo.put(
            Group(
                chat_id=chat,
                owner_userid="boss",
                city=city,
                tags=tags,
                status=status,
                updated_at=AT,
                location=loc if registered else None,
                join_url="https://qr.example/x" if registered else "",
            )
        )
    source = AudienceSource(bootstrap.root().db())
    audience = GroupAudience(kind="groups", cities=["上海"], tags=["早餐"])
    assert [t.id for page in source.groups(audience) for t in page] == ["wr1"]


def test_runs_are_created_once_and_batch_records_follow_their_results(cloud) -> None:
    runs = CampaignRunRepo(bootstrap.root().db())
    occurrence = Occurrence(key="2026-11-25", at=AT, day=date(2026, 11, 25))
    run = CampaignRun(
        id="c@2026-11-25", campaign_id="c", occurrence=occurrence, priority=5, created_at=AT
    )
    assert runs.create(run) is True and runs.create(run) is False
    runs.update(run.id, status="batched", batches=2)
    stored = runs.get(run.id)
    assert stored and stored.status == "batched" and stored.occurrence.day == date(2026, 11, 25)
    later = run.model_copy(update={"id": "c@2026-11-26", "created_at": AT + timedelta(days=1)})
    runs.create(later)
    assert [r.id for r in runs.for_campaign("c", 10)] == ["c@2026-11-26", "c@2026-11-25"]
    records = CampaignBatchRepo(bootstrap.root().db())
    record = BatchRecord(
        id="c@2026-11-25-b0", run_id=run.id, sender="s", size=3, claimed_at=AT, planned_at=AT
    )
    assert records.claim(record) is None
    assert records.claim(record) == record
    assert records.following(10) == []
    records.save(record.model_copy(update={"msgid": "m1"}))
    assert [r.msgid for r in records.following(10)] == ["m1"]
    records.save(record.model_copy(update={"msgid": "m1", "final": True}))
    assert records.following(10) == [] and len(records.for_run(run.id)) == 1


def seeded(bcid: str, ext: str, birthday: date, _current: object) -> BankCustomer:
    return BankCustomer(
        bank_customer_id=bcid, external_userid=ext, profile=KnownProfile(birthday=birthday)
    )


def test_customers_who_refuse_marketing_are_marked_by_flag_or_tag(cloud) -> None:
    customer("wm_ok", "staff1", ["生命周期/复购"])
    customer("wm_tagged", "staff1", ["生命周期/复购", "营销偏好/拒绝营销"])
    customer("wm_flagged", "staff1", ["生命周期/复购"])
    bootstrap.root().stores().customers.update_once(
        "optout-wm_flagged",
        "wm_flagged",
        lambda c: c.model_copy(update={"marketing_opt_out": True}),  # type: ignore[union-attr]
    )
    source = AudienceSource(bootstrap.root().db())
    audience = CustomerAudience(kind="customers", stages=["repeat"])
    found = {t.id: t.opted_out for page in source.customers(audience) for t in page}
    assert found == {"wm_ok": False, "wm_tagged": True, "wm_flagged": True}
