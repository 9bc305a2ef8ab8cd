"""Funnel milestones recorded as they happen, and the report over them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from siyu.domain.bank_customers import BankCustomer
from siyu.domain.channels import Channel
from siyu.domain.customers import Customer
from siyu.domain.funnel import (
    UNASSIGNED,
    Dims,
    FunnelQuery,
    FunnelRow,
    FunnelTrend,
    Milestone,
    TrendQuery,
    record,
    recount,
    summed,
    totals,
    window,
)
from siyu.ports import ChannelRepo, CustomerRepo, FunnelStore


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

    def note(
        self, milestone: Milestone, subject: str, at: datetime, dims: Dims, person: str
    ) -> bool:
        """Record once; False when this milestone of this subject was recorded before."""
        return self._store.record(record(milestone, subject, at, dims, person))

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
        """One row per value of the dimension with any milestone in the window, and a total."""
        tallies = self._store.tallies(query.by, query.from_, query.to)
        per_value = summed(tallies, lambda t: t.value)
        rows = [FunnelRow(value=value, counts=per_value[value]) for value in sorted(per_value)]
        rows = [r for r in rows if any(r.counts.values())]
        return [*rows, totals(rows)]

    def trend(self, query: TrendQuery, branches: list[str] | None = None) -> FunnelTrend:
        """Each milestone per Shanghai day; `branches` limits it to theirs (None: all). Every
        milestone has one branch, so the branch tallies of a day add up to the bank's."""
        tallies = self._store.tallies("branch", query.from_, query.to) if branches != [] else []
        scope = None if branches is None else set(branches)
        per_day = summed((t for t in tallies if scope is None or t.value in scope), lambda t: t.day)
        days = [d for d, _start, _end in query.days()]
        return FunnelTrend(
            from_=query.from_,
            to=query.to,
            days=days,
            series={m.value: [per_day.get(d, {}).get(m.value, 0) for d in days] for m in Milestone},
        )

    def recount(self, first: date, last: date) -> int:
        """Rebuild the tallies of the days first..last from their milestones: once, for days
        recorded before tallies were kept (a day still being written would lose counts)."""
        tallies = recount(self._store.milestones(*window(first, last)))
        self._store.put_tallies(tallies)
        return len(tallies)
