"""Funnel milestones recorded as they happen, and the report over them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from siyu.domain.bank_customers import BankCustomer
from siyu.domain.channels import Channel
from siyu.domain.customers import Customer
from siyu.domain.funnel import (
    UNASSIGNED,
    Dimension,
    Dims,
    FunnelQuery,
    FunnelRow,
    FunnelTrend,
    Milestone,
    TrendQuery,
    record,
    totals,
)
from siyu.ports import ChannelRepo, CustomerRepo, FunnelStore

K = TypeVar("K")


class FunnelTracker:
    def __init__(
        self,
        store: FunnelStore,
        channels: ChannelRepo,
        customers: CustomerRepo,
        staff_branches: Callable[[], dict[str, str]] = dict,
    ) -> None:
        self._store = store
        self._channels = channels
        self._customers = customers
        self._staff_branches = staff_branches  # userid → branch; cached by the caller

    def note(self, milestone: Milestone, subject: str, at: datetime, dims: Dims) -> bool:
        """Record once; False when this milestone of this subject was recorded before."""
        return self._store.record(record(milestone, subject, at, dims))

    def of_state(self, state: str, staff_userid: str) -> Dims:
        """A relation's channel (by its `state`), staff member and the channel's city."""
        return self.of_channel(self._channels.get(state) if state else None, staff_userid)

    def of_channel(self, channel: Channel | None, staff_userid: str) -> Dims:
        return Dims(
            channel=channel.name if channel else "无渠道",
            staff=staff_userid,
            city=(channel.city if channel else "") or "未知",
            branch=(channel.branch if channel else "")
            or self._staff_branches().get(staff_userid, UNASSIGNED),
        )

    def of_customer(self, customer: Customer | None) -> Dims:
        """Attributed to how the customer first came: their earliest relation."""
        if customer is None or not customer.relations:
            return Dims(channel="未关联")
        first = min(customer.relations, key=lambda r: r.added_at)
        return self.of_state(first.state, first.staff_userid)

    def of_bank_customer(self, bank: BankCustomer | None) -> Dims:
        if bank is None or not bank.external_userid:
            return Dims(channel="未关联")
        return self.of_customer(self._customers.get(bank.external_userid))

    def report(self, query: FunnelQuery) -> list[FunnelRow]:
        """One row per value of the dimension, counted with aggregation queries (side by
        side: each is a round trip), and a total."""
        start, end = query.window()
        by: Dimension = query.by
        values = sorted(self._store.values(by))
        pairs = [(value, m) for value in values for m in Milestone]
        counted = _side_by_side(lambda p: self._store.count(p[1], by, p[0], start, end), pairs)
        rows = [
            FunnelRow(value=value, counts={m.value: counted[(value, m)] for m in Milestone})
            for value in values
        ]
        rows = [r for r in rows if any(r.counts.values())]
        return [*rows, totals(rows)]

    def trend(self, query: TrendQuery, branches: list[str] | None = None) -> FunnelTrend:
        """Each milestone per Shanghai day; `branches` limits it to theirs (None: all)."""
        days = query.days()

        def count(pair: tuple[int, Milestone]) -> int:
            _day, start, end = days[pair[0]]
            if branches is None:
                return self._store.count_all(pair[1], start, end)
            return sum(
                self._store.count_branches(pair[1], branches[i : i + IN_LIMIT], start, end)
                for i in range(0, len(branches), IN_LIMIT)
            )

        pairs = [(n, m) for n in range(len(days)) for m in Milestone]
        counted = _side_by_side(count, pairs) if branches != [] else dict.fromkeys(pairs, 0)
        return FunnelTrend(
            from_=query.from_,
            to=query.to,
            days=[d for d, _s, _e in days],
            series={m.value: [counted[(n, m)] for n in range(len(days))] for m in Milestone},
        )


IN_LIMIT = 30  # Firestore's `in` takes at most 30 values
PARALLEL_QUERIES = 16


def _side_by_side(count: Callable[[K], int], keys: list[K]) -> dict[K, int]:
    """Aggregation queries wait on the network: run them concurrently, not one by one."""
    if len(keys) <= 1:
        return {k: count(k) for k in keys}
    with ThreadPoolExecutor(min(PARALLEL_QUERIES, len(keys))) as pool:
        return dict(zip(keys, pool.map(count, keys), strict=True))
