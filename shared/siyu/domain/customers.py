"""Customers and their relations with staff: the pure state changes WeCom events cause."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, computed_field

from siyu.domain.model import Model

# The corp tag that marks a customer who wants no marketing, whoever applies it.
OPT_OUT_TAG = "营销偏好/拒绝营销"


class RelationStatus(StrEnum):
    ACTIVE = "active"
    LOST = "lost"  # the customer deleted the staff member (流失)
    DELETED = "deleted"  # the staff member deleted the customer
    TRANSFERRED = "transferred"  # removed because the customer moved to another staff member


class TagSource(StrEnum):
    CHANNEL = "channel"  # applied by siyu for the channel code the customer came through
    MANUAL = "manual"  # set by staff in the WeCom client
    RULE = "rule"  # earned by the customer's facts: tag rules, lifecycle stage, RFM segment


class CustomerTag(Model):
    id: str
    name: str = ""
    group: str = ""
    source: TagSource


class Relation(Model):
    """One staff member's relation with the customer (WeCom follow_user)."""

    staff_userid: str
    state: str = ""
    status: RelationStatus = RelationStatus.ACTIVE
    half: bool = False
    added_at: datetime
    changed_at: datetime
    remark: str = ""


class TransferFailure(Model):
    """transfer_fail (92130): `takeover_userid` could not take the customer over."""

    takeover_userid: str
    reason: str = ""  # customer_refused | customer_limit_exceed
    at: datetime


class Customer(Model):
    external_userid: str
    name: str = ""
    relations: list[Relation] = Field(default_factory=list)
    tags: list[CustomerTag] = Field(default_factory=list)
    # Rule tags last pushed to WeCom, per staff member: a relation added later gets them all.
    rule_tags_pushed: dict[str, list[str]] = Field(default_factory=dict)
    # Mirrored from the linked bank customer by tag-sync; with OPT_OUT_TAG, campaigns skip.
    marketing_opt_out: bool = False
    transfers: list[datetime] = Field(default_factory=list)  # successful transfers (转接)
    transfer_failures: list[TransferFailure] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime

    def relation(self, staff_userid: str) -> Relation | None:
        return next((r for r in self.relations if r.staff_userid == staff_userid), None)

    def active_relations(self) -> list[Relation]:
        return [r for r in self.relations if r.status is RelationStatus.ACTIVE]

    def owner(self) -> Relation | None:
        """The staff member who speaks for siyu to this customer: the latest active relation."""
        active = self.active_relations()
        return max(active, key=lambda r: r.added_at) if active else None

    # Stored with the document, so campaign audiences are Firestore queries.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def owner_userid(self) -> str:
        owner = self.owner()
        return owner.staff_userid if owner else ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def active_staff(self) -> list[str]:
        return sorted(r.staff_userid for r in self.active_relations())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def relations_ended_at(self) -> datetime | None:
        """When the last relation ended, while none is active: retention counts from here."""
        if not self.relations or self.active_relations():
            return None
        return max(r.changed_at for r in self.relations)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tag_names(self) -> list[str]:
        return sorted({f"{t.group}/{t.name}" for t in self.tags if t.group and t.name})

    @property
    def refuses_marketing(self) -> bool:
        """Opted out at the bank, or tagged so (by staff in WeCom, a channel or a rule)."""
        return self.marketing_opt_out or OPT_OUT_TAG in self.tag_names


def new_customer(external_userid: str, at: datetime) -> Customer:
    return Customer(external_userid=external_userid, created_at=at, updated_at=at)


def add_relation(
    customer: Customer, staff_userid: str, state: str, at: datetime, half: bool = False
) -> Customer:
    """A (re-)added relation becomes active; the channel state of the latest add wins."""
    others = [r for r in customer.relations if r.staff_userid != staff_userid]
    previous = customer.relation(staff_userid)
    relation = Relation(
        staff_userid=staff_userid,
        state=state,
        half=half,
        added_at=at,
        changed_at=at,
        remark=previous.remark if previous else "",
    )
    pushed = customer.rule_tags_pushed
    if previous is None or previous.status is not RelationStatus.ACTIVE:
        # Whatever was pushed to an ended relation is not known to be there now.
        pushed = {k: v for k, v in pushed.items() if k != staff_userid}
    return customer.model_copy(
        update={"relations": [*others, relation], "rule_tags_pushed": pushed, "updated_at": at}
    )


def set_status(
    customer: Customer, staff_userid: str, status: RelationStatus, at: datetime, **changes: str
) -> Customer:
    """Change one relation's status; an unknown relation is recorded so the history is kept."""
    previous = customer.relation(staff_userid) or Relation(
        staff_userid=staff_userid, added_at=at, changed_at=at
    )
    relation = previous.model_copy(update={"status": status, "changed_at": at, **changes})
    others = [r for r in customer.relations if r.staff_userid != staff_userid]
    return customer.model_copy(update={"relations": [*others, relation], "updated_at": at})


def merge_tags(customer: Customer, tags: list[CustomerTag], at: datetime) -> Customer:
    """Add tags not yet held; a tag already held keeps its original source."""
    held = {t.id for t in customer.tags}
    new = [t for t in tags if t.id not in held]
    if not new:
        return customer
    return customer.model_copy(update={"tags": [*customer.tags, *new], "updated_at": at})


def replace_manual_tags(customer: Customer, manual: list[CustomerTag], at: datetime) -> Customer:
    """Staff edits in the client are the truth for manual tags; siyu's own tags stay."""
    own = [t for t in customer.tags if t.source is not TagSource.MANUAL]
    own_ids = {t.id for t in own}
    kept = [t for t in manual if t.id not in own_ids]
    return customer.model_copy(update={"tags": [*own, *kept], "updated_at": at})


def set_rule_tags(
    customer: Customer,
    earned: list[CustomerTag],
    pushed: dict[str, list[str]],
    at: datetime,
    marketing_opt_out: bool,
) -> Customer:
    """Rule tags are replaced as a set; manual and channel tags are never touched."""
    kept = [t for t in customer.tags if t.source is not TagSource.RULE]
    held = {t.id for t in kept}
    rule_tags = [t for t in earned if t.id not in held]
    return customer.model_copy(
        update={
            "tags": [*kept, *rule_tags],
            "rule_tags_pushed": {**customer.rule_tags_pushed, **pushed},
            "marketing_opt_out": marketing_opt_out,
            "updated_at": at,
        }
    )


def transferred(customer: Customer, from_userid: str, to_userid: str, at: datetime) -> Customer:
    """A completed transfer: the old relation ends, the new one carries the channel on."""
    old = customer.relation(from_userid)
    moved = set_status(customer, from_userid, RelationStatus.TRANSFERRED, at)
    moved = add_relation(moved, to_userid, old.state if old else "", at)
    return moved.model_copy(update={"transfers": [*customer.transfers, at]})


def transfer_failed(
    customer: Customer, takeover_userid: str, reason: str, at: datetime
) -> Customer:
    """The takeover failed: the customer stays with whoever served them; nothing else moves."""
    failure = TransferFailure(takeover_userid=takeover_userid, reason=reason, at=at)
    return customer.model_copy(
        update={"transfer_failures": [*customer.transfer_failures, failure], "updated_at": at}
    )
