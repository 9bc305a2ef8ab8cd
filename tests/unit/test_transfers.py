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


def test_protection_period_and_transfer_limit_apply_to_serving_staff_only() -> None:
    recent = customer([NOW - timedelta(days=89)])
    assert "protection period" in refusal(recent, "a", False, NOW)
    assert refusal(recent, "a", True, NOW) == ""  # 离职继承
    assert refusal(customer([NOW - timedelta(days=91)]), "a", False, NOW) == ""
    twice = customer([NOW - timedelta(days=400), NOW - timedelta(days=200)])
    assert "already transferred 2 times" in refusal(twice, "a", False, NOW)


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
