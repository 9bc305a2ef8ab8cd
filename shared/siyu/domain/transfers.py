"""Moving customers from one staff member to another (在职转接 / 离职继承).

WeCom's rules (92125): at most 100 customers per call; a serving member's customer may be
transferred at most twice within any 90 natural days (error 40128); the customer has 24
hours to refuse, after which the takeover happens by itself.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ConfigDict, Field, computed_field, model_validator

from siyu.domain.customers import Customer
from siyu.domain.groups import Group
from siyu.domain.ids import DocId
from siyu.domain.model import Model
from siyu.domain.wecom import TransferState

PER_CALL = 100
MAX_TRANSFERS = 2  # within any WINDOW
WINDOW = timedelta(days=90)


class TransferSpec(Model):
    """POST /ops/transfers."""

    model_config = ConfigDict(extra="forbid")

    from_userid: str = Field(min_length=1, max_length=64)
    to_userid: str = Field(min_length=1, max_length=64)
    resigned: bool
    customers: list[DocId] | None = Field(None, min_length=1, max_length=10_000)
    groups: list[DocId] | None = Field(
        None, max_length=10_000, description="chat ids; omitted: every group the member owns"
    )

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
# transfer_result's status (94088) → ours.
WECOM_STATUS: dict[int, CustomerStatus] = {
    TransferState.DONE: CustomerStatus.SUCCEEDED,
    TransferState.WAITING: CustomerStatus.WAITING,
    TransferState.REFUSED: CustomerStatus.CUSTOMER_REFUSED,
    TransferState.LIMIT: CustomerStatus.FAILED,
    TransferState.NO_RECORD: CustomerStatus.FAILED,
}


class CustomerTransfer(Model):
    external_userid: str
    status: CustomerStatus
    reason: str = ""
    changed_at: datetime


class GroupStatus(StrEnum):
    MOVED = "moved"  # WeCom made the new member the owner (群主)
    REFUSED = "refused"  # siyu did not ask WeCom (see reason)
    FAILED = "failed"  # WeCom listed it in failed_chat_list (reason: its errcode)


class GroupTransfer(Model):
    chat_id: str
    status: GroupStatus
    reason: str = ""
    changed_at: datetime


class Transfer(Model):
    id: str
    from_userid: str
    to_userid: str
    resigned: bool
    created_at: datetime
    calls: int = 0  # transfer_customer calls made
    customers: list[CustomerTransfer] = Field(default_factory=list)
    groups: list[GroupTransfer] = Field(default_factory=list)  # answered at once: all final

    @property
    def final(self) -> bool:
        return all(c.status in FINAL for c in self.customers)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def customer_ids(self) -> list[str]:
        """Stored, so a person's transfers are one array-contains query away (erasure)."""
        return sorted({c.external_userid for c in self.customers})

    def tally(self) -> dict[str, int]:
        return dict(Counter(c.status.value for c in self.customers))

    def group_tally(self) -> dict[str, int]:
        return dict(Counter(g.status.value for g in self.groups))


class TransferView(Transfer):
    """A transfer as the ops API answers it: also whether it is over, and its counts."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def final(self) -> bool:
        return super().final

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        return self.tally()

    @computed_field  # type: ignore[prop-decorator]
    @property
    def group_counts(self) -> dict[str, int]:
        return self.group_tally()

    @classmethod
    def of(cls, transfer: Transfer) -> TransferView:
        return cls.model_validate(transfer.model_dump())


def refusal(customer: Customer | None, from_userid: str, resigned: bool, now: datetime) -> str:
    """Why siyu will not ask WeCom to move this customer ("" when it may)."""
    relation = customer.relation(from_userid) if customer else None
    if customer is None or relation is None or relation.status != "active":
        return f"not an active customer of {from_userid}"
    if resigned:
        return ""  # 离职继承 has no per-customer limit
    recent = sorted(t for t in customer.transfers if now - t < WINDOW)
    if len(recent) >= MAX_TRANSFERS:
        until = (recent[-MAX_TRANSFERS] + WINDOW).date().isoformat()
        return f"transferred {len(recent)} times in the last 90 days: not again until {until}"
    return ""


def group_refusal(group: Group | None, from_userid: str, resigned: bool, now: datetime) -> str:
    """Why siyu will not ask WeCom to hand this group over ("" when it may). A serving
    member's group may change owner at most twice within 90 natural days (95703)."""
    if group is None or group.owner_userid != from_userid:
        return f"not a group owned by {from_userid}"
    if resigned:
        return ""
    recent = sorted(t for t in group.owner_transfers if now - t < WINDOW)
    if len(recent) >= MAX_TRANSFERS:
        until = (recent[-MAX_TRANSFERS] + WINDOW).date().isoformat()
        return f"handed over {len(recent)} times in the last 90 days: not again until {until}"
    return ""
