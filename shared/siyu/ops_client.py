"""The ops API as the `siyu` command calls it, and its three output formats."""

from __future__ import annotations

import csv
import io
import json
import os
from typing import Any

import httpx

# (title, path into the JSON) per listing; json output prints the JSON as it came.
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "customer": [
        ("external_userid", "external_userid"),
        ("name", "name"),
        ("owner", "owner_userid"),
        ("staff", "active_staff"),
        ("tags", "tag_names"),
    ],
    "groups": [
        ("chat_id", "chat_id"),
        ("name", "name"),
        ("owner", "owner_userid"),
        ("city", "city"),
        ("members", "member_count"),
        ("status", "status"),
        ("tags", "tags"),
    ],
    "campaigns": [
        ("id", "id"),
        ("name", "name"),
        ("schedule", "schedule.kind"),
        ("priority", "priority"),
        ("audience", "audience.kind"),
        ("enabled", "enabled"),
    ],
    "preview": [
        ("campaign", "campaign_id"),
        ("next", "next_occurrence.key"),
        ("audience", "audience"),
        ("opted_out", "opted_out"),
        ("batches", "batches"),
        ("sample", "sample"),
        ("note", "note"),
    ],
    "followups": [
        ("id", "id"),
        ("customer", "external_userid"),
        ("staff", "staff_userid"),
        ("reason", "reason"),
        ("due", "due_at"),
        ("status", "status"),
        ("detail", "detail"),
    ],
    "rule_preview": [
        ("evaluated", "evaluated"),
        ("complete", "complete"),
        ("gain", "gain"),
        ("lose", "lose"),
        ("sample_gain", "sample_gain"),
        ("sample_lose", "sample_lose"),
    ],
    "backfill": [
        ("rule", "rule_id"),
        ("status", "status"),
        ("evaluated", "evaluated"),
        ("changed", "changed"),
        ("started", "started_at"),
        ("finished", "finished_at"),
    ],
    "channels": [
        ("state", "state"),
        ("name", "name"),
        ("staff", "staff"),
        ("config_id", "config_id"),
        ("qr_code", "qr_code"),
        ("attachments", "attachments"),
    ],
    "media": [
        ("id", "id"),
        ("kind", "kind"),
        ("filename", "filename"),
        ("size", "size"),
        ("media_id", "media_id"),
        ("uploaded", "uploaded_at"),
    ],
    "group_codes": [
        ("id", "id"),
        ("city", "city"),
        ("groups", "chat_ids"),
        ("exhausted", "exhausted"),
        ("qr_code", "qr_code"),
    ],
    "run_cancel": [
        ("batch", "batch_id"),
        ("sender", "sender"),
        ("msgid", "msgid"),
        ("outcome", "outcome"),
        ("detail", "detail"),
    ],
    "audit": [
        ("at", "at"),
        ("actor", "actor"),
        ("route", "route"),
        ("target", "target"),
        ("status", "status"),
        ("before", "before"),
        ("after", "after"),
    ],
    "members": [
        ("id", "id"),
        ("kind", "kind"),
        ("role", "role"),
        ("branches", "branches"),
        ("active", "active"),
        ("name", "name"),
        ("updated_by", "updated_by"),
    ],
    "branches": [("id", "id"), ("name", "name"), ("parent", "parent")],
    "transfer": [
        ("id", "id"),
        ("from", "from_userid"),
        ("to", "to_userid"),
        ("resigned", "resigned"),
        ("calls", "calls"),
        ("final", "final"),
        ("counts", "counts"),
        ("groups", "group_counts"),
    ],
}


class OpsError(Exception):
    pass


class OpsClient:
    """Bearer token: the local stack's SIYU_OPS_TOKEN, or in production a Google ID token
    (`gcloud auth print-identity-token --audiences=<ops_audience>`) in SIYU_OPS_BEARER."""

    def __init__(self, base_url: str, bearer: str) -> None:
        self._http = httpx.Client(
            base_url=base_url, timeout=60, headers={"Authorization": f"Bearer {bearer}"}
        )

    @classmethod
    def from_env(cls, local_url: str, local_token: str) -> OpsClient:
        return cls(
            os.environ.get("SIYU_OPS_URL", local_url),
            os.environ.get("SIYU_OPS_BEARER", local_token),
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self._http.request(method, path, **kwargs)
        if r.status_code >= 400:
            raise OpsError(f"{method} {path}: HTTP {r.status_code} {r.text}")
        return (
            r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
        )


def _get(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return "" if value is None else str(value)


def render(data: Any, kind: str, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2)
    items = data if isinstance(data, list) else [data]
    columns = COLUMNS[kind]
    rows = [[_cell(_get(item, path)) for _, path in columns] for item in items]
    return _table([title for title, _ in columns], rows, fmt)


def funnel_table(report: dict[str, Any], fmt: str) -> str:
    """The funnel report: json as served, or one row per value with a column per milestone."""
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, indent=2)
    rows = report["rows"]
    milestones = list(rows[0]["counts"]) if rows else []
    table = [[r["value"], *[str(r["counts"][m]) for m in milestones]] for r in rows]
    return _table([report["by"], *milestones], table, fmt)


def _table(titles: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([titles, *rows])
        return out.getvalue().rstrip("\n")
    return table_text(titles, rows)


def table_text(titles: list[str], rows: list[list[str]]) -> str:
    """A plain table through rich: cell widths by display cells (CJK two, combining marks
    none), no colour or box characters, so it pipes and diffs cleanly."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="", padding=(0, 2, 0, 0))
    for title in titles:
        table.add_column(Text(title), no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # text as is: "[b]" is not markup here
    out = io.StringIO()
    Console(file=out, width=100_000, color_system=None, highlight=False, emoji=False).print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
