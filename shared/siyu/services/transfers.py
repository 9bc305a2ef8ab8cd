"""Staff departure and reassignment: move customers in WeCom, follow each one to the end."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from siyu.domain import customers as cust
from siyu.domain.errors import NotFound
from siyu.domain.transfers import (
    PER_CALL,
    WECOM_STATUS,
    CustomerStatus,
    CustomerTransfer,
    Transfer,
    TransferSpec,
    refusal,
)
from siyu.logging import log
from siyu.ports import Clock, CustomerRepo, TransferApi, TransferRepo

logger = logging.getLogger(__name__)


class TransferService:
    def __init__(
        self, transfers: TransferRepo, customers: CustomerRepo, wecom: TransferApi, clock: Clock
    ) -> None:
        self._transfers = transfers
        self._customers = customers
        self._wecom = wecom
        self._clock = clock

    def create(self, spec: TransferSpec) -> Transfer:
        """Screen every customer, then ask WeCom in calls of ≤ 100; the record is saved after
        each call, so nothing asked of WeCom goes unrecorded."""
        now = self._clock.now()
        wanted = spec.customers or self._customers.of_staff(spec.from_userid)
        transfer = Transfer(
            id=uuid.uuid4().hex[:16],
            from_userid=spec.from_userid,
            to_userid=spec.to_userid,
            resigned=spec.resigned,
            created_at=now,
        )
        entries: dict[str, CustomerTransfer] = {}
        eligible = []
        for ext in dict.fromkeys(wanted):
            reason = refusal(self._customers.get(ext), spec.from_userid, spec.resigned, now)
            status = CustomerStatus.REFUSED if reason else CustomerStatus.WAITING
            entries[ext] = CustomerTransfer(
                external_userid=ext, status=status, reason=reason, changed_at=now
            )
            if not reason:
                eligible.append(ext)
        transfer.customers = list(entries.values())
        self._transfers.put(transfer)
        for start in range(0, len(eligible), PER_CALL):
            chunk = eligible[start : start + PER_CALL]
            codes = self._wecom.transfer_customer(
                spec.resigned, spec.from_userid, spec.to_userid, chunk
            )
            for ext in chunk:
                code = codes.get(ext, 0)
                if code:
                    entries[ext] = entries[ext].model_copy(
                        update={"status": CustomerStatus.FAILED, "reason": f"WeCom errcode {code}"}
                    )
            transfer.calls += 1
            transfer.customers = list(entries.values())
            self._transfers.put(transfer)
        log(logger, logging.INFO, "transfer started", transfer_id=transfer.id, **transfer.tally())
        return transfer

    def status(self, transfer_id: str) -> Transfer:
        """The transfer as WeCom now reports it; finished customers move locally, once."""
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            raise NotFound(f"transfer {transfer_id}")
        if transfer.final:
            return transfer
        now = self._clock.now()
        results = {
            r.external_userid: r
            for r in self._wecom.transfer_result(
                transfer.resigned, transfer.from_userid, transfer.to_userid
            )
        }
        updated = []
        for entry in transfer.customers:
            result = results.get(entry.external_userid)
            if entry.status is not CustomerStatus.WAITING or result is None:
                updated.append(entry)
                continue
            status = WECOM_STATUS.get(result.status, CustomerStatus.WAITING)
            if status is CustomerStatus.SUCCEEDED:
                self._move(transfer, entry.external_userid, now)
            updated.append(entry.model_copy(update={"status": status, "changed_at": now}))
        transfer = transfer.model_copy(update={"customers": updated})
        self._transfers.put(transfer)
        return transfer

    def _move(self, transfer: Transfer, external_userid: str, at: datetime) -> None:
        def change(current: cust.Customer | None) -> cust.Customer:
            base = current or cust.new_customer(external_userid, at)
            return cust.transferred(base, transfer.from_userid, transfer.to_userid, at)

        self._customers.update_once(
            f"transfer-{transfer.id}-{external_userid}", external_userid, change
        )
