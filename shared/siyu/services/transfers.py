"""Staff departure and reassignment: move customers in WeCom, follow each one to the end."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from siyu.domain import customers as cust
from siyu.domain import groups as grp
from siyu.domain.errors import NotFound
from siyu.domain.transfers import (
    PER_CALL,
    WECOM_STATUS,
    CustomerStatus,
    CustomerTransfer,
    GroupStatus,
    GroupTransfer,
    Transfer,
    TransferSpec,
    group_refusal,
    refusal,
)
from siyu.logging import log
from siyu.ports import Clock, CustomerRepo, GroupRepo, TransferApi, TransferRepo

logger = logging.getLogger(__name__)


class TransferService:
    def __init__(
        self,
        transfers: TransferRepo,
        customers: CustomerRepo,
        groups: GroupRepo,
        wecom: TransferApi,
        clock: Clock,
    ) -> None:
        self._transfers = transfers
        self._customers = customers
        self._groups = groups
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
        self._hand_over_groups(transfer, spec)
        log(
            logger,
            logging.INFO,
            "transfer started",
            transfer_id=transfer.id,
            groups=transfer.group_tally(),
            **transfer.tally(),
        )
        return transfer

    def _hand_over_groups(self, transfer: Transfer, spec: TransferSpec) -> None:
        """The member's customer groups go to the same takeover member: groupchat/transfer
        for a resigned owner (92127), onjob_transfer for a serving one (95703). WeCom answers
        at once, and no callback follows our own change: siyu records the new owner itself."""
        now = self._clock.now()
        if spec.groups is None:
            owned = self._groups.owned_by(spec.from_userid)
        else:
            owned = [g for g in (self._groups.get(c) for c in dict.fromkeys(spec.groups)) if g]
            missing = set(spec.groups) - {g.chat_id for g in owned}
            transfer.groups += [
                GroupTransfer(
                    chat_id=c, status=GroupStatus.REFUSED, reason="unknown group", changed_at=now
                )
                for c in sorted(missing)
            ]
        eligible = []
        for group in owned:
            reason = group_refusal(group, spec.from_userid, spec.resigned, now)
            if reason:
                transfer.groups.append(
                    GroupTransfer(
                        chat_id=group.chat_id,
                        status=GroupStatus.REFUSED,
                        reason=reason,
                        changed_at=now,
                    )
                )
            else:
                eligible.append(group)
        for start in range(0, len(eligible), PER_CALL):
            chunk = eligible[start : start + PER_CALL]
            failed = self._wecom.transfer_group_chats(
                spec.resigned, [g.chat_id for g in chunk], spec.to_userid
            )
            for group in chunk:
                code = failed.get(group.chat_id)
                if code is None:
                    self._groups.put(_new_owner(group, spec.to_userid, spec.resigned, now))
                transfer.groups.append(
                    GroupTransfer(
                        chat_id=group.chat_id,
                        status=GroupStatus.FAILED if code is not None else GroupStatus.MOVED,
                        reason=f"WeCom errcode {code}" if code is not None else "",
                        changed_at=now,
                    )
                )
            self._transfers.put(transfer)
        if transfer.groups and not eligible:  # only refusals: recorded once here
            self._transfers.put(transfer)

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


def _new_owner(group: grp.Group, owner: str, resigned: bool, at: datetime) -> grp.Group:
    handovers = group.owner_transfers if resigned else [*group.owner_transfers, at]
    return group.model_copy(
        update={"owner_userid": owner, "owner_transfers": handovers, "updated_at": at}
    )
