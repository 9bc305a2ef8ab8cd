"""The inventory of personal data: every Firestore collection siyu writes, what in it is
about a person, how a person's documents are found, what erasure does to them and how
long they are kept. tests/infra checks that every collection an adapter writes is here.

PIPL (个人信息保护法) art. 28 makes financial accounts sensitive personal information: the
asset band, purchase aggregates and questionnaire answers are marked `sensitive`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from siyu.domain.ids import DocId
from siyu.domain.model import Model

# What a pseudonymised value becomes: nothing links it back to the person.
ERASED = "(erased)"


class Key(StrEnum):
    """An identifier that ties a document to a person."""

    EXTERNAL_USERID = "external_userid"  # WeCom's id of the customer as a contact
    BANK_CUSTOMER_ID = "bank_customer_id"  # the bank's customer number


class Action(StrEnum):
    DELETE = "delete"  # the document is about the person: it goes
    SCRUB = "scrub"  # the document is about something else: the person's ids become ERASED


class Locate(Model):
    """One way to find a person's documents in a collection: the document id is the
    identifier, a field equals it, an array field contains it, or a field equals a text
    built around it (`template`, e.g. "customers/{}")."""

    model_config = ConfigDict(frozen=True)

    key: Key
    by: Literal["id", "field", "contains"]
    field: str = ""
    template: str = "{}"
    action: Action = Action.DELETE

    @model_validator(mode="after")
    def _named(self) -> Locate:
        if (self.by == "id") != (self.field == ""):
            raise ValueError("a field is named exactly when the lookup is not by id")
        return self

    def value(self, identifier: str) -> str:
        return self.template.format(identifier)


class Holding(Model):
    """One collection: what it holds about people and for how long."""

    model_config = ConfigDict(frozen=True)

    collection: str
    holds: str
    personal: tuple[str, ...] = ()  # fields (dotted paths) about a person
    sensitive: tuple[str, ...] = ()  # of those, PIPL's sensitive personal information
    locate: tuple[Locate, ...] = ()
    retention: str

    @model_validator(mode="after")
    def _consistent(self) -> Holding:
        if not set(self.sensitive) <= set(self.personal):
            raise ValueError(f"{self.collection}: sensitive fields must be personal too")
        if bool(self.personal) != bool(self.locate):
            raise ValueError(f"{self.collection}: personal data needs a way to find it")
        return self


def token_id(key: Key, identifier: str) -> str:
    """`person_tokens/{key}:{identifier}`."""
    return f"{key.value}:{identifier}"


def _id(key: Key) -> Locate:
    return Locate(key=key, by="id")


def _field(key: Key, field: str, action: Action = Action.DELETE, template: str = "{}") -> Locate:
    return Locate(key=key, by="field", field=field, action=action, template=template)


EXT, BANK = Key.EXTERNAL_USERID, Key.BANK_CUSTOMER_ID
_RELATION_ENDED = "until SIYU_RETENTION_DAYS (365) after the person's last relation ended"
_NO_PERSON = "as long as the bank runs the campaign, group or rule; no personal data"

REGISTRY: tuple[Holding, ...] = (
    Holding(
        collection="customers",
        holds="a WeCom contact: relations with staff, tags, opt-out",
        personal=("external_userid", "name", "relations", "tags", "transfers"),
        locate=(_id(EXT),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="bank_customers",
        holds="the bank's customer: profile, purchases, answers, stage, invites issued",
        personal=(
            "bank_customer_id",
            "external_userid",
            "unionid",
            "profile.age",
            "profile.aum_band",
            "profile.birthday",
            "aggregates",
            "answers",
            "journeys_abandoned",
            "invites",
            "groups",
        ),
        sensitive=("profile.aum_band", "aggregates", "answers"),
        locate=(_id(BANK), _field(EXT, "external_userid")),
        retention=_RELATION_ENDED + ", unless the bank reports an active product",
    ),
    Holding(
        collection="inbox",
        holds="each accepted WeCom callback until it is published",
        personal=("event", "external_user_id"),
        # The event as a map: entries written before it was stored as text (TTL: 7 days).
        locate=(_field(EXT, "external_user_id"), _field(EXT, "event.external_user_id")),
        retention="TTL: SIYU_DEDUPE_TTL_DAYS (7) after receipt (expire_at)",
    ),
    Holding(
        collection="dedupe",
        holds="processed-event markers",
        personal=("doc",),
        locate=(
            _field(EXT, "doc", template="customers/{}"),
            _field(BANK, "doc", template="bank_customers/{}"),
        ),
        retention="TTL: SIYU_DEDUPE_TTL_DAYS (7) after the event (expire_at)",
    ),
    Holding(
        collection="deliveries",
        holds="failure counts of Pub/Sub messages, by message id",
        retention="TTL: SIYU_DEDUPE_TTL_DAYS (7) after the failure (expire_at)",
    ),
    Holding(
        collection="welcomes",
        holds="who holds a WeCom WelcomeCode (keyed by its hash) and how it ended",
        retention="TTL: 1 day after the claim (expire_at); holds no person's id",
    ),
    Holding(
        collection="mass_caps",
        holds="the one 群发 a customer may receive per day, and which campaign it was",
        personal=("target",),
        locate=(_field(EXT, "target"),),
        retention="TTL: 90 days (expire_at): the customer page lists the campaigns received",
    ),
    Holding(
        collection="funnel",
        holds="milestones a person passed, with the channel, staff and city",
        personal=("person",),
        locate=(_field(EXT, "person"), _field(BANK, "person")),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="funnel_days",
        holds="daily milestone counts per channel, staff, city and branch (aggregates)",
        retention="kept: counts only, erasure leaves them",
    ),
    Holding(
        collection="followups",
        holds="reminders to staff about a customer",
        personal=("external_userid", "bank_customer_id", "detail", "note"),
        locate=(_field(EXT, "external_userid"), _field(BANK, "bank_customer_id")),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="transfers",
        holds="hand-overs of customers between staff members",
        personal=("customers",),
        locate=(Locate(key=EXT, by="contains", field="customer_ids", action=Action.SCRUB),),
        retention="kept for the bank's records; an erased customer's id is scrubbed",
    ),
    Holding(
        collection="cardholders",
        holds="the first card-opening event of a bank customer",
        personal=("event_id", "opened_at"),
        locate=(_id(BANK),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="invites",
        holds="a referee's one referral and what became of it",
        personal=("referee", "referrer", "device_hash", "phone_hash"),
        locate=(_id(BANK), _field(BANK, "referrer", Action.SCRUB)),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="invite_attempts",
        holds="later referrals of an already-invited referee",
        personal=("referee",),
        locate=(_field(BANK, "referee"),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="referral_hash_slots",
        holds="which referees used a device or phone (keyed hashes)",
        personal=("referee",),
        locate=(_field(BANK, "referee"),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="referral_codes",
        holds="a referrer's code",
        personal=("bank_customer_id",),
        locate=(_field(BANK, "bank_customer_id"),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="referrers",
        holds="a referrer's code and count of successful invites",
        personal=("bank_customer_id", "successful_invites"),
        locate=(_id(BANK),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="referral_days",
        holds="invites reserved per referrer per day (the daily limit)",
        personal=("referrer",),
        locate=(_field(BANK, "referrer"),),
        retention=_RELATION_ENDED,
    ),
    Holding(
        collection="rewards",
        holds="the reward ledger: each tier a referrer reached, granted once",
        personal=("referrer",),
        locate=(_field(BANK, "referrer"),),
        retention=_RELATION_ENDED + "; the bank's fulfilment keeps its own record",
    ),
    Holding(
        collection="tag_rule_backfills",
        holds="a rule's backfill over the customers and its checkpoint",
        personal=("after",),
        locate=(_field(BANK, "after", Action.SCRUB), _field(EXT, "after", Action.SCRUB)),
        retention=_NO_PERSON + " once the checkpoint is scrubbed",
    ),
    Holding(
        collection="person_tokens",
        holds="the random pseudonym that names a person in the audit log",
        personal=("token",),
        locate=(
            Locate(key=EXT, by="id", template=token_id(EXT, "{}")),
            Locate(key=BANK, by="id", template=token_id(BANK, "{}")),
        ),
        retention="until the person is erased: then the audit entries name no one",
    ),
    *(
        Holding(collection=name, holds=holds, retention=_NO_PERSON)
        for name, holds in (
            ("groups", "benefit groups: owner, place, capacity, member count"),
            ("group_directory", "the groups, compressed, for a new card-alert instance"),
            ("channels", "channel codes and their welcome"),
            ("tags", "the corp tag catalogue"),
            ("tag_rules", "declarative tag rules"),
            ("campaigns", "campaign definitions"),
            ("campaign_runs", "each run's counts"),
            ("campaign_batches", "each batch's counts in WeCom"),
            ("calendar_years", "official holidays"),
            ("media", "uploaded images and files"),
            ("group_codes", "group join codes"),
            ("ops_tasks", "work for ops: areas without a group, missing calendars"),
            ("import_jobs", "CSV imports: counts and row errors (row, column, message)"),
            ("ticks", "the last run of each scheduled job"),
            ("branches", "the bank's branches"),
            ("staff", "staff members' branches (employees, not customers)"),
            ("ops_grants", "ops roles of staff members"),
            ("ops_sessions", "ops sign-in sessions; TTL (expire_at)"),
            ("ops_idempotency", "answers to repeated ops changes; TTL 24 h (expire_at)"),
            ("audit", "ops changes; people appear only by an erasable pseudonym"),
            ("erasures", "erasure receipts: who, when, why, which collections; no personal data"),
        )
    ),
)

BY_COLLECTION: dict[str, Holding] = {h.collection: h for h in REGISTRY}

# The lookups that resolve a person: their own documents, and the bank's link to WeCom.
CUSTOMER_DOC = Locate(key=EXT, by="id")
BANK_CUSTOMER_DOC = Locate(key=BANK, by="id")
LINKED_BANK_CUSTOMERS = Locate(key=EXT, by="field", field="external_userid")


def scrubbed(value: Any, identifiers: set[str]) -> Any:
    """`value` with every text equal to one of `identifiers` (as a value or a key)
    replaced by ERASED; everything else as it was."""
    if isinstance(value, str):
        return ERASED if value in identifiers else value
    if isinstance(value, dict):
        return {
            (ERASED if k in identifiers else k): scrubbed(v, identifiers) for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrubbed(v, identifiers) for v in value]
    return value


class PersonRef(Model):
    """POST /ops/people:export: one person, by either id."""

    model_config = ConfigDict(extra="forbid")

    external_userid: DocId | None = None
    bank_customer_id: DocId | None = None

    @model_validator(mode="after")
    def _one(self) -> PersonRef:
        if not (self.external_userid or self.bank_customer_id):
            raise ValueError("name the person: external_userid or bank_customer_id")
        return self


class EraseRequest(PersonRef):
    """POST /ops/people:erase: the person and why (kept in the receipt)."""

    reason: str = Field(min_length=3, max_length=300)


class Found(Model):
    """One document about a person, as stored."""

    collection: str
    id: str
    data: dict[str, Any]


class Identities(Model):
    """Every identifier of one person siyu knows, resolved from the one asked for."""

    external_userids: list[str] = Field(default_factory=list)
    bank_customer_ids: list[str] = Field(default_factory=list)

    def of(self, key: Key) -> list[str]:
        return self.external_userids if key is Key.EXTERNAL_USERID else self.bank_customer_ids

    def all(self) -> set[str]:
        return {*self.external_userids, *self.bank_customer_ids}


class PersonExport(Model):
    """Everything siyu holds about one person: by collection, each document as stored."""

    identities: Identities
    exported_at: datetime
    collections: dict[str, list[Found]]
    documents: int


class Receipt(Model):
    """`erasures/{id}`: that an erasure happened, never whom it erased."""

    id: str
    actor: str
    reason: str
    at: datetime
    collections: dict[str, int]  # documents deleted or scrubbed, by collection
    wecom_tags_removed: int


def holds_active_product(bank_customer: dict[str, Any], cardholder: bool, since: datetime) -> bool:
    """Retention keeps a bank customer who holds a card opened through siyu, or who bought
    a product since `since`: the bank still serves them, whatever became of WeCom."""
    last = (bank_customer.get("aggregates") or {}).get("last_purchase_at")
    return cardholder or (isinstance(last, datetime) and last >= since)


def erasure_order(holdings: tuple[Holding, ...] = REGISTRY) -> list[Holding]:
    """The documents that resolve a person's identities (customers, bank_customers) go
    last, so an erasure stopped half-way finds everything again when it is run again."""
    last = ("customers", "bank_customers")
    return sorted(
        holdings, key=lambda h: last.index(h.collection) + 1 if h.collection in last else 0
    )
