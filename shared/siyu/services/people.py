"""A person's data on request (PIPL arts. 45 and 47): everything siyu holds about them as
one document, or erased everywhere the inventory names, with a receipt that names no one."""

from __future__ import annotations

import logging
import secrets
from typing import Any, Protocol

from siyu.domain.audit import Change
from siyu.domain.customers import Customer, TagSource
from siyu.domain.errors import NotFound, UpstreamError
from siyu.domain.personal_data import (
    BANK_CUSTOMER_DOC,
    CUSTOMER_DOC,
    LINKED_BANK_CUSTOMERS,
    REGISTRY,
    Action,
    Found,
    Identities,
    Locate,
    PersonExport,
    PersonRef,
    Receipt,
    erasure_order,
    scrubbed,
)
from siyu.logging import log
from siyu.ports import Clock, PersonalData, WeComApi

logger = logging.getLogger(__name__)


class Recorder(Protocol):
    def record(self, change: Change) -> Any: ...


class PeopleService:
    def __init__(self, data: PersonalData, wecom: WeComApi, audit: Recorder, clock: Clock) -> None:
        self._data = data
        self._wecom = wecom
        self._audit = audit
        self._clock = clock

    def identities(self, ref: PersonRef) -> Identities:
        """The person's WeCom and bank ids, each found from the other through the link."""
        exts = {ref.external_userid} if ref.external_userid else set()
        banks = {ref.bank_customer_id} if ref.bank_customer_id else set()
        for bank in list(banks):
            for found in self._data.find("bank_customers", BANK_CUSTOMER_DOC, bank):
                exts |= {found.data.get("external_userid") or ""} - {""}
        for ext in list(exts):
            banks |= {f.id for f in self._data.find("bank_customers", LINKED_BANK_CUSTOMERS, ext)}
        return Identities(external_userids=sorted(exts), bank_customer_ids=sorted(banks))

    def _documents(self, ids: Identities) -> list[tuple[Locate, Found]]:
        found: dict[tuple[str, str], tuple[Locate, Found]] = {}
        for holding in erasure_order(REGISTRY):
            for locate in holding.locate:
                for identifier in ids.of(locate.key):
                    for doc in self._data.find(holding.collection, locate, identifier):
                        # A document found as the person's own is deleted, whatever else
                        # also found it.
                        key = (doc.collection, doc.id)
                        if key not in found or locate.action is Action.DELETE:
                            found[key] = (locate, doc)
        return list(found.values())

    def export(self, ref: PersonRef) -> PersonExport:
        ids = self.identities(ref)
        docs = [doc for _locate, doc in self._documents(ids)]
        if not docs:
            raise NotFound("siyu holds nothing about this person")
        collections: dict[str, list[Found]] = {}
        for doc in docs:
            collections.setdefault(doc.collection, []).append(doc)
        return PersonExport(
            identities=ids,
            exported_at=self._clock.now(),
            collections=collections,
            documents=len(docs),
        )

    def erase(self, ref: PersonRef, reason: str, actor: str, route: str) -> Receipt:
        """Idempotent and resumable: every step finds what is left and removes it, and
        the documents that resolve the person's ids go last."""
        ids = self.identities(ref)
        removed = self._untag_in_wecom(ids)
        counts: dict[str, int] = {}
        everyone = ids.all()
        for locate, doc in self._documents(ids):
            if locate.action is Action.DELETE:
                self._data.delete(doc.collection, doc.id)
            else:
                self._data.replace(doc.collection, doc.id, scrubbed(doc.data, everyone))
            counts[doc.collection] = counts.get(doc.collection, 0) + 1
        receipt = Receipt(
            id=secrets.token_hex(12),
            actor=actor,
            reason=reason,
            at=self._clock.now(),
            collections=counts,
            wecom_tags_removed=removed,
        )
        self._data.keep_receipt(receipt)
        self._audit.record(
            Change(
                actor=actor,
                actor_kind="service" if route == "retention" else "member",
                route=route,
                target=f"erasure={receipt.id}",
                status=200,
                after=receipt.model_dump(mode="json"),
            )
        )
        log(
            logger,
            logging.INFO,
            "person erased",
            erasure=receipt.id,
            documents=sum(counts.values()),
        )
        return receipt

    def _untag_in_wecom(self, ids: Identities) -> int:
        """siyu's rule tags come off the person's relations in WeCom (manual and channel
        tags are the staff member's own); a relation WeCom no longer has is skipped."""
        removed = 0
        for ext in ids.external_userids:
            found = self._data.find("customers", CUSTOMER_DOC, ext)
            if not found:
                continue
            customer = Customer.model_validate(found[0].data)
            rule_tags = {t.id for t in customer.tags if t.source is TagSource.RULE}
            for relation in customer.active_relations():
                tags = sorted(
                    rule_tags | set(customer.rule_tags_pushed.get(relation.staff_userid, []))
                )
                if not tags:
                    continue
                try:
                    self._wecom.mark_tag(relation.staff_userid, ext, add=[], remove=tags)
                except UpstreamError as exc:  # e.g. 84061: the relation is gone in WeCom
                    log(logger, logging.WARNING, "rule tags not removed", errcode=exc.code)
                    continue
                removed += len(tags)
        return removed
