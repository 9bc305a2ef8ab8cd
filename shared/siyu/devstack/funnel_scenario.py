"""The demo's last word: today's funnel, by channel and by city (GET /ops/reports/funnel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from siyu.devstack.stack import StackConfig
from siyu.domain.campaigns import SHANGHAI
from siyu.ops_client import funnel_table


@dataclass
class FunnelSummary:
    day: str = ""
    tables: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [f"Funnel for {self.day} (GET /ops/reports/funnel, from the daily tallies):"]
        for by, table in self.tables.items():
            lines += [f"  by {by}:", *[f"    {line}" for line in table.splitlines()]]
        return "\n".join([*lines, ""])


def play(cfg: StackConfig) -> FunnelSummary:
    ops = cfg.ops_client()
    summary = FunnelSummary(day=datetime.now(SHANGHAI).date().isoformat())
    for by in ("channel", "city"):
        r = ops.get(
            "/ops/reports/funnel", params={"from": summary.day, "to": summary.day, "by": by}
        )
        r.raise_for_status()
        summary.tables[by] = funnel_table(r.json(), "table")
    return summary
