"""The demo's personal-data act: one customer's data exported, and the customer who deleted
their staff member erased on request (POST /ops/people:export, :erase)."""

from __future__ import annotations

from dataclasses import dataclass, field

from siyu.devstack.stack import StackConfig

EXPORTED = "bc_demo_li"  # the profile act's customer
ERASED = "wm_demo_card_alert_0"  # the first act's lost customer


@dataclass
class PeopleSummary:
    exported: dict[str, int] = field(default_factory=dict)
    receipt: dict[str, int] = field(default_factory=dict)
    tags_removed: int = 0
    left: int = 0

    def render(self) -> str:
        held = ", ".join(f"{name} {n}" for name, n in sorted(self.exported.items()))
        erased = ", ".join(f"{name} {n}" for name, n in sorted(self.receipt.items()))
        return "\n".join(
            [
                "Personal data (POST /ops/people:export and :erase, admin):",
                f"  {EXPORTED} exported: {sum(self.exported.values())} documents — {held}",
                f"  {ERASED} erased on request: {erased}; rule tags off in WeCom: "
                f"{self.tags_removed}; receipt in the audit log names no one",
                f"  exported again afterwards: {self.left} documents",
                "",
            ]
        )


def play(cfg: StackConfig) -> PeopleSummary:
    ops, summary = cfg.ops_client(), PeopleSummary()
    exported = ops.post("/ops/people:export", json={"bank_customer_id": EXPORTED})
    exported.raise_for_status()
    summary.exported = {k: len(v) for k, v in exported.json()["collections"].items()}
    body = {"external_userid": ERASED, "reason": "客户申请删除个人信息（演示）"}
    erased = ops.post("/ops/people:erase", json=body)
    erased.raise_for_status()
    summary.receipt = erased.json()["collections"]
    summary.tags_removed = erased.json()["wecom_tags_removed"]
    again = ops.post("/ops/people:export", json={"external_userid": ERASED})
    summary.left = again.json()["documents"] if again.status_code == 200 else 0
    return summary
