"""Moving customers from one staff member to another (在职转接 / 离职继承).

WeCom's rules: at most 100 customers per call; a serving member's customer may be
transferred at most twice, and not again within 90 days of a transfer; the customer has
24 hours to refuse, after which the takeover happens by itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from siyu.domain.customers import Customer

PER_CALL = 100
MAX_TRANSFERS = 2
PROTECTION = timedelta(days=90)


class TransferSpec(BaseModel):
    """POST /ops/transfers."""

    model_config = ConfigDict(extra="forbid")

    from_userid: str = Field(min_length=1, max_length=64)
    to_userid: str = Field(min_length=1, max_length=64)
    resigned: bool
    customers: list[str] | None = Field(None, min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _two_people(self) -> TransferSpec:
        if self.from_userid == self.to_userid:
            raise ValueError("from_userid and to_userid are the same person")
        return self


class CustomerStatus(StrEnum):
    REFUSED = "refused"  # siyu did not ask WeCom (see reason)
    WAITING = "waiting"  # WeCom accepted; the customer may refuse within 24 h
    SUCCEEDED = "succeeded"
    CUSTOMER_REFUSED = "customer_refused"
    FAILED = "failed"  # WeCom refused the call for this customer, or the takeover failed


FINAL = {
    CustomerStatus.REFUSED,
    CustomerStatus.SUCCEEDED,
    CustomerStatus.CUSTOMER_REFUSED,
    CustomerStatus.FAILED,
}
# transfer_result's status → ours (1 done, 2 waiting, 3 refused, 4 takeover at its limit,
# 5 no record).
WECOM_STATUS = {
    1: CustomerStatus.SUCCEEDED,
    2: CustomerStatus.WAITING,
    3: CustomerStatus.CUSTOMER_REFUSED,
    4: CustomerStatus.FAILED,
    5: CustomerStatus.FAILED,
}


class CustomerTransfer(BaseModel):
    external_userid: str
    status: CustomerStatus
    reason: str = ""
    changed_at: datetime


class Transfer(BaseModel):
    id: str
    from_userid: str
    to_userid: str
    resigned: bool
    created_at: datetime
    calls: int = 0  # transfer_customer calls made
    customers: list[CustomerTransfer] = Field(default_factory=list)

    @property
    def final(self) -> bool:
        return all(c.status in FINAL for c in self.customers)

    def counts(self) -> dict[str, int]:
        return dict(Counter(c.status.value for c in self.customers))


def refusal(customer: Customer | None, from_userid: str, resigned: bool, now: datetime) -> str:
    """Why siyu will not ask WeCom to move this customer ("" when it may)."""
    relation = customer.relation(from_userid) if customer else None
    if customer is None or relation is None or relation.status != "active":
        return f"not an active customer of {from_userid}"
    if resigned:
        return ""  # 离职继承 has no per-customer limit
    if len(customer.transfers) >= MAX_TRANSFERS:
        return f"already transferred {MAX_TRANSFERS} times"
    last = max(customer.transfers, default=None)
    if last and now - last < PROTECTION:
        until = (last + PROTECTION).date().isoformat()
        return f"protection period after the transfer of {last.date()}: until {until}"
    return ""
