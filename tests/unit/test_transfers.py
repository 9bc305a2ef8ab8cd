"""Who may be moved: an active relation, and for serving staff at most two transfers and
none within 90 days of the last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from siyu.domain import customers as cust
from siyu.domain.errors import NotFound
from siyu.domain.transfers import CustomerStatus, TransferSpec, refusal
from tests.fakes import FakeCloud

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def customer(transfers: list[datetime]) -> cust.Customer:
    c = cust.add_relation(cust.new_customer("wm1", NOW), "a", "", NOW)
    return c.model_copy(update={"transfers": transfers})


def test_a_customer_of_someone_else_is_refused() -> None:
    assert "not an active customer of b" in refusal(customer([]), "b", False, NOW)
    assert "not an active customer" in refusal(None, "a", True, NOW)


def test_two_transfers_within_any_90_days_apply_to_serving_staff_only() -> None:
    """92125 / 40128: at most 2 transfers of a customer within any 90 natural days."""
    once = customer([NOW - timedelta(days=10)])
    assert refusal(once, "a", False, NOW) == ""  # a second transfer is allowed
    twice = customer([NOW - timedelta(days=89), NOW - timedelta(days=10)])
    reason = refusal(twice, "a", False, NOW)
    assert "2 times in the last 90 days" in reason and "2026-11-24" in reason
    assert refusal(twice, "a", True, NOW) == ""  # 离职继承 has no such limit
    # A third transfer once the window has moved past the first is allowed.
    aged = customer([NOW - timedelta(days=91), NOW - timedelta(days=10)])
    assert refusal(aged, "a", False, NOW) == ""
    long_ago = customer([NOW - timedelta(days=400), NOW - timedelta(days=200)])
    assert refusal(long_ago, "a", False, NOW) == ""


def test_a_completed_transfer_ends_the_old_relation_and_records_the_time() -> None:
    moved = cust.transferred(customer([]), "a", "b", NOW)
    assert {r.staff_userid: r.status.value for r in moved.relations} == {
        "a": "transferred",
        "b": "active",
    }
    assert moved.transfers == [NOW] and moved.owner_userid == "b"


def test_a_transfer_needs_two_people() -> None:
    with pytest.raises(ValidationError, match="same person"):
        TransferSpec(from_userid="a", to_userid="a", resigned=True)


# -- the service: screening, calls of ≤ 100, following WeCom's results ----------------------


def staffed(cloud: FakeCloud, n: int, staff: str = "a") -> list[str]:
    """n customers of `staff`, added an hour ago."""
    at = cloud.clock.now() - timedelta(hours=1)
    exts = [f"wm{i:03d}" for i in range(n)]
    for ext in exts:
        cloud.customers.docs[ext] = cust.add_relation(cust.new_customer(ext, at), staff, "", at)
    return exts


def test_a_departure_is_asked_of_wecom_in_calls_of_at_most_100_and_saved_after_each() -> None:
    cloud = FakeCloud()
    exts = staffed(cloud, 230)
    transfers = cloud.root().transfers()
    started = transfers.create(TransferSpec(from_userid="a", to_userid="b", resigned=True))
    assert [len(call) for call in cloud.wecom.transfer_calls] == [100, 100, 30]
    assert started.calls == 3 and started.tally()["waiting"] == 230
    assert cloud.transfers.get(started.id) == started
    assert sorted(cloud.wecom.transfer_states) == exts


def test_refused_customers_are_never_asked_and_wecom_refusals_are_recorded() -> None:
    cloud = FakeCloud()
    staffed(cloud, 2)
    cloud.wecom.transfer_refusals["wm001"] = 40097  # WeCom refuses this one in the answer
    spec = TransferSpec(
        from_userid="a", to_userid="b", resigned=False, customers=["wm001", "nobody"]
    )
    t = cloud.root().transfers().create(spec)
    statuses = {c.external_userid: (c.status, c.reason) for c in t.customers}
    assert statuses["nobody"][0] is CustomerStatus.REFUSED
    assert statuses["wm001"] == (CustomerStatus.FAILED, "WeCom errcode 40097")
    assert cloud.wecom.transfer_calls == [["wm001"]]


def test_status_follows_wecom_and_moves_a_finished_customer_once() -> None:
    cloud = FakeCloud()
    staffed(cloud, 3)
    transfers = cloud.root().transfers()
    t = transfers.create(TransferSpec(from_userid="a", to_userid="b", resigned=True))
    cloud.wecom.finish("wm000", 1)  # 接替完毕
    cloud.wecom.finish("wm001", 3)  # the customer refused
    cloud.clock.advance(60)
    seen = transfers.status(t.id)
    statuses = {c.external_userid: c.status for c in seen.customers}
    assert statuses == {
        "wm000": CustomerStatus.SUCCEEDED,
        "wm001": CustomerStatus.CUSTOMER_REFUSED,
        "wm002": CustomerStatus.WAITING,
    }
    moved = cloud.customers.get("wm000")
    assert moved is not None and moved.relation("b") is not None and not seen.final
    again = transfers.status(t.id)  # asked again: nothing moves twice
    assert cloud.customers.get("wm000") == moved and again.tally() == seen.tally()
    cloud.wecom.finish("wm002", 1)
    assert transfers.status(t.id).final


def test_an_unknown_transfer_is_not_found() -> None:
    with pytest.raises(NotFound):
        FakeCloud().root().transfers().status("nope")
