"""Which functions exist, how each is triggered, and where the local stack serves it.

Terraform declares the same facts; tests/infra/test_infra_agrees.py keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # folder under functions/, entry point and Terraform key
    path: str = ""  # HTTP functions: the path prefix they serve
    methods: tuple[str, ...] = ()  # methods on `path` itself; ops_api routes with its Router
    topic: str = ""  # CloudEvent functions: the topic that triggers them
    schedule: str = ""  # cron (Asia/Shanghai) of the Cloud Scheduler job that feeds the topic
    deadline: float = 0.0  # HTTP functions: API Gateway's backend deadline in seconds

    @property
    def source(self) -> Path:
        return ROOT / "functions" / self.name / "main.py"

    @property
    def signature(self) -> str:
        return "cloudevent" if self.topic else "http"

    @property
    def push_path(self) -> str:
        """Where the local push subscription delivers: the framework reads the topic from it."""
        return f"/_push/{self.name}"


FUNCTIONS = (
    # Deadlines: WeCom waits 5 s for an answer, the card-alert system as long.
    FunctionSpec("wecom_callback", path="/wecom/callback", methods=("GET", "POST"), deadline=5.0),
    FunctionSpec("ops_api", path="/ops", deadline=30.0),
    # The console's page and files; every read and change it makes goes to ops_api.
    FunctionSpec("ops_console", path="/console", methods=("GET",), deadline=10.0),
    FunctionSpec("card_alert", path="/card-alert", methods=("POST",), deadline=5.0),
    FunctionSpec("biz_events", path="/events", methods=("POST",), deadline=10.0),
    FunctionSpec("on_wecom_event", topic="wecom-events"),
    FunctionSpec("on_biz_event", topic="biz-events"),
    FunctionSpec("on_tag_sync", topic="tag-sync"),
    FunctionSpec("on_followup_tick", topic="followup-ticks", schedule="*/15 * * * *"),
    FunctionSpec("on_campaign_tick", topic="campaign-ticks", schedule="*/5 * * * *"),
    FunctionSpec("on_campaign_batch", topic="campaign-batches"),
    FunctionSpec("on_inbox_sweep", topic="inbox-sweep-ticks", schedule="* * * * *"),
    # 03:30 Shanghai: the quiet hour, before staff and campaigns read the segments.
    FunctionSpec("on_relayer_tick", topic="relayer-ticks", schedule="30 3 * * *"),
    FunctionSpec("on_tag_backfill", topic="tag-backfill-ticks", schedule="* * * * *"),
    # Every 6 hours: a media id (3 days) is renewed 30 hours ahead, long before it expires.
    FunctionSpec("on_content_upkeep", topic="content-upkeep-ticks", schedule="0 */6 * * *"),
    FunctionSpec("on_retention_tick", topic="retention-ticks", schedule="0 4 * * *"),
    FunctionSpec("on_directory_tick", topic="directory-ticks", schedule="*/5 * * * *"),
)


# Topics siyu publishes for systems outside it (the bank's fulfilment system).
OUTBOUND_TOPICS = ("reward-granted",)
TOPICS = tuple(sorted({fn.topic for fn in FUNCTIONS if fn.topic} | set(OUTBOUND_TOPICS)))


def dead_letter(topic: str) -> str:
    return f"{topic}-dlq"
