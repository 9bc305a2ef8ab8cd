"""Money is exact from the request to Firestore and back (no float on the way)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from siyu import bootstrap
from siyu.domain.bank_customers import BankCustomer, apply_event
from siyu.domain.biz_events import Purchase

AT = datetime(2026, 11, 23, 9, tzinfo=UTC)


def purchase(event_id: str, amount: str) -> Purchase:
    return Purchase.model_validate(
        {
            "event_id": event_id,
            "bank_customer_id": "bc_money",
            "product": "fund",
            "amount": amount,
            "occurred_at": AT.isoformat(),
        }
    )


def test_the_largest_amount_and_cents_add_exactly_through_firestore(cloud) -> None:
    repo = bootstrap.root().stores().bank_customers

    def buy(event_id: str, amount: str) -> None:
        repo.update_once(
            event_id,
            "bc_money",
            lambda c: apply_event(
                c or BankCustomer(bank_customer_id="bc_money"), purchase(event_id, amount)
            ),
        )

    buy("e1", "99999999999999.99")
    stored, _ = repo.get("bc_money")
    assert stored is not None
    assert stored.aggregates.total_amount == Decimal("99999999999999.99")
    buy("e2", "0.01")
    stored, _ = repo.get("bc_money")
    assert stored is not None and stored.aggregates.total_amount == Decimal("100000000000000.00")
    assert stored.model_dump(mode="json")["aggregates"]["total_amount"] == "100000000000000.00"


def test_tenths_do_not_drift() -> None:
    customer = BankCustomer(bank_customer_id="bc_money")
    for n, amount in enumerate(["0.10", "0.20"] * 50):
        customer = apply_event(customer, purchase(f"e{n}", amount))
    assert customer.aggregates.total_amount == Decimal("15.00")
