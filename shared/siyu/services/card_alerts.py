"""card_alert's use case: answer each card transaction with an invite to the nearest group.

Cost per alert: one Firestore read (the bank customer) and a write only when an invite is
issued. Groups come from the in-memory NearbyGroupIndex. No transaction: the invite is
written on the condition that the customer's document did not change since it was read.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import timedelta

from siyu.domain import bank_customers as bc
from siyu.domain import card_alerts as ca
from siyu.domain.bank_customers import BankCustomer
from siyu.domain.card_alerts import (
    CardAlert,
    CardAlertAnswer,
    Invite,
    IssuedInvite,
    Reason,
)
from siyu.domain.errors import TransientError
from siyu.domain.ops_tasks import new_group_needed
from siyu.logging import log
from siyu.ports import BankCustomerRepo, Clock, OpsTaskRepo
from siyu.services.nearby_groups import NearbyGroupIndex

logger = logging.getLogger(__name__)

_WRITE_ATTEMPTS = 3  # a conflicting write means another alert for the same customer won
_AREAS_REMEMBERED = 10_000


class CardAlertService:
    def __init__(
        self,
        directory: NearbyGroupIndex,
        customers: BankCustomerRepo,
        tasks: OpsTaskRepo,
        clock: Clock,
        max_distance_m: float,
        cooldown: timedelta,
    ) -> None:
        self._directory = directory
        self._customers = customers
        self._tasks = tasks
        self._clock = clock
        self._max_m = max_distance_m
        self._cooldown = cooldown
        self._reported: OrderedDict[str, None] = OrderedDict()  # areas already raised here

    def answer(self, alert: CardAlert) -> CardAlertAnswer:
        for _ in range(_WRITE_ATTEMPTS):
            customer, version = self._customers.for_alert(alert.bank_customer_id)
            answer, issued = self._decide(alert, customer)
            if issued is None:
                return answer
            state = customer or BankCustomer(bank_customer_id=alert.bank_customer_id)
            if self._customers.record_invite(bc.with_invite(state, issued), version):
                log(
                    logger,
                    logging.INFO,
                    "card-alert invite issued",
                    txn_id=alert.txn_id,
                    group_id=issued.group_id,
                    distance_m=issued.distance_m,
                    reason=issued.reason,
                )
                return answer
        raise TransientError("the customer's document kept changing; retry the alert")

    def _decide(
        self, alert: CardAlert, customer: BankCustomer | None
    ) -> tuple[CardAlertAnswer, IssuedInvite | None]:
        """The answer, and the invite to record when one is newly issued."""
        now = self._clock.now()
        if customer is not None:
            earlier = customer.answer_for(alert.txn_id)
            if earlier is not None:
                invite = Invite.model_validate(earlier.model_dump())
                return CardAlertAnswer(invite=invite, reason=earlier.reason), None
            if customer.marketing_opt_out:
                return CardAlertAnswer(invite=None, reason=Reason.OPTED_OUT), None
            if customer.groups:
                return CardAlertAnswer(invite=None, reason=Reason.MEMBER), None
            if customer.invited_within(self._cooldown, now):
                return CardAlertAnswer(invite=None, reason=Reason.COOLDOWN), None
        where = alert.merchant.location()
        match = self._directory.nearest_with_room(
            where.lat, where.lng, alert.merchant.city, self._max_m
        )
        if match is None:
            self._report_area(alert, where.lat, where.lng)
            return CardAlertAnswer(invite=None, reason=Reason.NO_GROUP), None
        reason = Reason.NEAREST if match.in_range else Reason.CITY
        issued = IssuedInvite(
            group_id=match.group.chat_id,
            group_name=match.group.name,
            distance_m=round(match.distance_m, 1),
            join_url=match.group.join_url,
            text=ca.invite_text(match.group),
            txn_id=alert.txn_id,
            reason=reason,
            issued_at=now,
        )
        invite = Invite.model_validate(issued.model_dump())
        return CardAlertAnswer(invite=invite, reason=reason), issued

    def _report_area(self, alert: CardAlert, lat: float, lng: float) -> None:
        """One ops task per area; each instance asks Firestore about an area only once."""
        task = new_group_needed(alert.merchant.city, lat, lng, self._clock.now())
        if task.id in self._reported:
            return
        if self._tasks.create(task):
            log(logger, logging.WARNING, task.detail, task_id=task.id, txn_id=alert.txn_id)
        self._reported[task.id] = None
        if len(self._reported) > _AREAS_REMEMBERED:
            self._reported.popitem(last=False)
