"""Who may be moved: an active relation, and for serving staff at most two transfers and
none within 90 days of the last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from siyu.domain import customers as cust
from siyu.domain.transfers import TransferSpec, refusal

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
