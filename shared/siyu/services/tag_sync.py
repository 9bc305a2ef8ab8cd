"""on_tag_sync: push a customer's earned tags to WeCom with mark_tag, for every active relation,
and mirror the bank customer's marketing choice onto the contact campaigns read.

Coalescing comes from diffing: each message compares what the customer earns now with what
was last pushed to each relation, so a burst of changes makes one mark_tag per relation and
the messages after it find nothing to do. Only tags siyu pushed are ever removed: manual
tags survive.
"""

from __future__ import annotations

import hashlib
import logging

from siyu.domain import customers as cust
from siyu.domain.customers import CustomerTag, TagSource
from siyu.domain.errors import UpstreamError
from siyu.domain.tags import TagRef, TagSyncRequest
from siyu.logging import log
from siyu.ports import BankCustomerRepo, Clock, CustomerRepo, WeComApi
from siyu.services.tag_catalog import TagCatalog

logger = logging.getLogger(__name__)

INVALID_TAG = 40068  # a corp tag deleted in WeCom since siyu learnt its id


class TagSyncService:
    def __init__(
        self,
        bank_customers: BankCustomerRepo,
        customers: CustomerRepo,
        catalog: TagCatalog,
        wecom: WeComApi,
        clock: Clock,
    ) -> None:
        self._bank_customers = bank_customers
        self._customers = customers
        self._catalog = catalog
        self._wecom = wecom
        self._clock = clock

    def sync(self, request: TagSyncRequest) -> int:
        """Returns the mark_tag calls made (0 when WeCom already has the earned tags)."""
        bank, _version = self._bank_customers.get(request.bank_customer_id)
        if bank is None or not bank.external_userid:
            return 0
        ext = bank.external_userid
        contact = self._customers.get(ext)
        if contact is None:
            return 0
        refs = [TagRef(group=t.group, name=t.name) for t in bank.earned_tags]
        opt_out = bank.marketing_opt_out
        try:
            return self._push(contact, refs, opt_out)
        except UpstreamError as exc:
            if exc.code != INVALID_TAG:
                raise
            # A tag was deleted in the admin console: resolve (and recreate) by name, once,
            # and stop removing ids WeCom no longer has.
            return self._push(contact, refs, opt_out, live=self._catalog.refresh())

    def _push(
        self,
        contact: cust.Customer,
        refs: list[TagRef],
        opt_out: bool,
        live: set[str] | None = None,
    ) -> int:
        ids = self._catalog.ids(refs) if refs else []
        earned = [
            CustomerTag(id=tag_id, name=ref.name, group=ref.group, source=TagSource.RULE)
            for ref, tag_id in zip(refs, ids, strict=True)
        ]
        pushed: dict[str, list[str]] = {}
        calls = 0
        for relation in contact.active_relations():
            before = set(contact.rule_tags_pushed.get(relation.staff_userid, []))
            if before == set(ids):
                continue
            add, remove = sorted(set(ids) - before), sorted(before - set(ids))
            if live is not None:
                remove = [tag_id for tag_id in remove if tag_id in live]
            if add or remove:
                self._wecom.mark_tag(relation.staff_userid, contact.external_userid, add, remove)
                calls += 1
            pushed[relation.staff_userid] = sorted(ids)
        held = {t.id for t in contact.tags if t.source is TagSource.RULE}
        if not pushed and held == set(ids) and contact.marketing_opt_out == opt_out:
            return 0
        # WeCom sends no callback for mark_tag: record what it now holds. The key carries the
        # version read, so a later change back to the same tags is recorded again.
        key = hashlib.sha256(
            f"{contact.external_userid}|{contact.updated_at.isoformat()}|{sorted(ids)}|{opt_out}".encode()
        ).hexdigest()
        at = self._clock.now()
        self._customers.update_once(
            f"tagsync-{key}",
            contact.external_userid,
            lambda c: cust.set_rule_tags(c or contact, earned, pushed, at, opt_out),
        )
        log(
            logger,
            logging.INFO,
            "tags pushed to WeCom",
            external_userid=contact.external_userid,
            tags=len(ids),
            mark_tag_calls=calls,
        )
        return calls
