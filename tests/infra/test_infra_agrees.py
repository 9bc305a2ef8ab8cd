"""Terraform and the code agree, and the offline checks can fail."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from siyu.config import Settings
from siyu.devstack.registry import ROOT

from .infra_check import (
    composite_queries,
    gateway_problems,
    index_problems,
    openapi_problems,
    operations_problems,
    placement_problems,
    plan_time_problems,
    problems,
    staging_problems,
)


def test_infra_declares_what_the_code_uses() -> None:
    assert problems(ROOT) == []


def test_every_count_and_for_each_is_known_when_planning() -> None:
    assert plan_time_problems(ROOT) == []


def test_a_count_on_an_apply_time_value_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(
        main.read_text().replace(
            "trigger_topic         = each.value.trigger_topic",
            "trigger_topic         = each.value.trigger_topic == null ? null : "
            "module.topic[each.value.trigger_topic].id",
        )
    )
    found = plan_time_problems(broken)
    assert any("var.trigger_topic" in p and "not known when planning" in p for p in found)
    root = broken / "infra" / "firestore.tf"
    root.write_text(
        root.read_text().replace(
            'toset(["dedupe",', 'google_firestore_database.main.name == "" ? [] : toset(["dedupe",'
        )
    )
    assert any("firestore.tf" in p for p in plan_time_problems(broken))


def test_the_gateway_sits_in_a_region_that_has_api_gateway() -> None:
    assert gateway_problems(ROOT) == []


def test_a_gateway_region_without_api_gateway_is_caught(broken: Path) -> None:
    tfvars = broken / "infra" / "envs" / "prod" / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace('"asia-northeast1"', '"asia-east2"'))
    api = broken / "infra" / "api.tf"
    api.write_text(
        api.read_text().replace("region     = var.gateway_region", "region = var.region")
    )
    found = gateway_problems(broken)
    assert "prod: gateway_region 'asia-east2' has no API Gateway" in found
    assert "google_api_gateway_gateway is not placed in var.gateway_region" in found


def test_nothing_that_starts_a_function_is_planned_before_the_secrets_have_versions() -> None:
    assert staging_problems(ROOT) == []
    readme = (ROOT / "docs" / "operations.md").read_text()
    first, second = (
        readme.find("-var deploy_functions=false"),
        readme.find("-var deploy_functions=true"),
    )
    versions = readme.find("gcloud secrets versions add")
    assert 0 <= first < versions < second, (
        "the Deploy steps in docs/operations.md must order: stage 1, versions, stage 2"
    )


def test_an_ungated_function_or_gateway_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(
        main.read_text().replace("var.deploy_functions ? local.functions : {}", "local.functions")
    )
    api = broken / "infra" / "api.tf"
    api.write_text(api.read_text().replace("count      = var.deploy_functions ? 1 : 0\n", ""))
    found = staging_problems(broken)
    assert "module function is not gated by var.deploy_functions" in found
    assert "api.tf: google_api_gateway_gateway.siyu is not gated by var.deploy_functions" in found


def test_terraform_files_are_formatted() -> None:
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not installed: it is needed for `terraform fmt -check`"
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", str(ROOT / "infra")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    for part in ("infra", "functions", "docs"):
        shutil.copytree(ROOT / part, tmp_path / part)
    return tmp_path


def test_a_function_without_terraform_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(main.read_text().replace("ops_api = {", "ops_api_renamed = {"))
    found = problems(broken)
    assert any("ops_api: functions/ops_api has no Terraform function" in p for p in found)


def test_a_wrong_trigger_topic_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(
        main.read_text().replace('trigger_topic = "wecom-events"', 'trigger_topic = "other"')
    )
    assert any("Terraform trigger 'other'" in p for p in problems(broken))


def test_a_retry_policy_unlike_the_local_stacks_is_caught(broken: Path) -> None:
    module = broken / "infra" / "modules" / "function" / "main.tf"
    module.write_text(
        module.read_text().replace('minimum_backoff = "10s"', 'minimum_backoff = "1s"')
    )
    assert any("minimum_backoff" in p for p in problems(broken))


def test_a_secret_a_function_requires_but_terraform_withholds_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(
        main.read_text().replace(
            'secrets       = ["SIYU_WECOM_AGENT_SECRET"]', "secrets       = []"
        )
    )
    assert (
        "on_followup_tick: requires SIYU_WECOM_AGENT_SECRET but Terraform gives it none"
        in problems(broken)
    )


def test_an_unwired_secret_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(re.sub(r'SIYU_WECOM_TOKEN\s*= "wecom-callback-token"', "", main.read_text()))
    assert any("SIYU_WECOM_TOKEN is read by Settings" in p for p in problems(broken))


def test_a_scheduler_job_without_its_function_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    stray = '  stray = { schedule = "*/5 * * * *", topic = "nowhere", description = "x" }\n'
    main.write_text(
        main.read_text().replace("scheduled_jobs = {\n", "scheduled_jobs = {\n" + stray)
    )
    assert "scheduler job stray ticks 'nowhere', which no scheduled function reads" in problems(
        broken
    )


def test_a_scheduled_function_without_its_job_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(main.read_text().replace('"*/15 * * * *"', '"*/30 * * * *"'))
    assert (
        "on_followup_tick runs on '*/15 * * * *' but no scheduler job feeds followup-ticks"
        in problems(broken)
    )


def test_unformatted_terraform_is_caught(broken: Path) -> None:
    main = broken / "infra" / "main.tf"
    main.write_text(main.read_text().replace("  name = ", "name    =   ", 1))
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", str(broken / "infra")],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0


def test_the_openapi_document_matches_the_functions_routes() -> None:
    assert openapi_problems(ROOT) == []


def _edit_openapi(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    api = root / "infra" / "api" / "openapi.yaml"
    doc = yaml.safe_load(api.read_text())
    change(doc)
    api.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def test_an_undocumented_route_and_an_open_ops_path_are_caught(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["paths"]["/ops/tasks-renamed"] = doc["paths"].pop("/ops/tasks")
        doc["paths"]["/ops/invites/{referee}"]["get"].pop("x-siyu-role")

    _edit_openapi(broken, change)
    found = openapi_problems(broken)
    assert "GET /ops/tasks is served but not in openapi.yaml" in found
    assert "GET /ops/tasks-renamed is in openapi.yaml but served by no function" in found
    assert any("GET /ops/invites/{referee}: ops paths" in p for p in found)


def test_a_backend_at_path_level_or_the_wrong_deadline_is_caught(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        # What API Gateway ignores: the card-alert backend moved up to its path.
        card = doc["paths"]["/card-alert"]
        card["x-google-backend"] = card["post"].pop("x-google-backend")
        doc["paths"]["/events"]["post"]["x-google-backend"]["deadline"] = 30.0

    _edit_openapi(broken, change)
    found = openapi_problems(broken)
    assert "/card-alert: x-google-backend at path level is ignored by API Gateway" in found
    assert any(p.startswith("POST /card-alert goes to (None, None)") for p in found)
    assert any(p.startswith("POST /events goes to ('${biz_events_url}', 30.0)") for p in found)


def test_a_colon_other_than_a_final_custom_verb_is_caught(broken: Path) -> None:
    def change(doc: dict[str, Any]) -> None:
        item = doc["paths"].pop("/ops/tasks")
        doc["paths"]["/ops/tasks:open/today"] = item
        doc["paths"]["/ops/tasks/{prefix}:{suffix}"] = item

    _edit_openapi(broken, change)
    found = openapi_problems(broken)
    for path in ("/ops/tasks:open/today", "/ops/tasks/{prefix}:{suffix}"):
        assert f"{path}: a ':' is taken only as a custom verb ending the last segment" in found
    assert not any("/ops/followups/{followup_id}:done:" in p for p in found)


def test_every_composite_query_has_an_index() -> None:
    assert index_problems(ROOT) == []


COMPOSITE = """

class Reports:
    def __init__(self, db):
        self._col = db.collection("followups")

    def due(self, staff, before):
        query = self._col.where(filter=FieldFilter("staff_userid", "==", staff))
        return query.where(filter=FieldFilter("due_at", "<", before)).order_by("due_at")
"""

INDEX = """
resource "google_firestore_index" "followups_due" {
  project    = var.project_id
  collection = "followups"
  fields {
    field_path = "staff_userid"
    order      = "ASCENDING"
  }
  fields {
    field_path = "due_at"
    order      = "ASCENDING"
  }
}
"""


def test_a_composite_query_without_an_index_is_caught(broken: Path) -> None:
    shutil.copytree(ROOT / "shared" / "siyu", broken / "shared" / "siyu")
    adapters = broken / "shared" / "siyu" / "adapters" / "firestore"
    (adapters / "store.py").write_text((adapters / "store.py").read_text() + COMPOSITE)
    assert index_problems(broken) == [
        "composite query on followups over ('staff_userid', 'due_at') has no google_firestore_index"
    ]
    firestore_tf = broken / "infra" / "firestore.tf"
    firestore_tf.write_text(firestore_tf.read_text() + INDEX)
    assert index_problems(broken) == []


THROUGH_NAMES = """

Tier = Literal["gold", "silver"]


class TieredCustomers(CustomerRepo):
    def by_tier(self, tier: Tier, staff: str):
        query = self._col.where(filter=FieldFilter(tier, "==", True))
        return query.where(filter=FieldFilter("staff", "==", staff))
"""


def test_collections_and_fields_named_through_names_are_seen(broken: Path) -> None:
    """`collection = "customers"` on a _OnceRepo subclass, and a field that is a parameter
    annotated with a Literal alias: one query per value (the parameter, not a field of the
    same name)."""
    shutil.copytree(ROOT / "shared" / "siyu", broken / "shared" / "siyu")
    store = broken / "shared" / "siyu" / "adapters" / "firestore" / "store.py"
    store.write_text("from typing import Literal\n" + store.read_text() + THROUGH_NAMES)
    assert index_problems(broken) == [
        f"composite query on customers over ('{tier}', 'staff') has no google_firestore_index"
        for tier in ("gold", "silver")
    ]
    # A field spelled like a Literal-typed parameter (`"by"` beside `by: Dimension`) is a field.
    queries = composite_queries(ROOT)
    assert ("funnel_days", ("by", "day")) in queries
    assert ("funnel_days", ("city", "day")) not in queries
    store.write_text(store.read_text().replace("tier: Tier", "tier: str"))
    assert index_problems(broken) == [
        "composite query on customers over ('<unknown: tier>', 'staff') has no "
        "google_firestore_index"
    ]


def checkov(infra: Path) -> dict[str, Any]:
    binary = ROOT / ".venv-checkov" / "bin" / "checkov"
    assert binary.exists(), "checkov is installed by `make test` into .venv-checkov"
    result = subprocess.run(
        [
            str(binary),
            "-d",
            str(infra),
            "--framework",
            "terraform",
            "secrets",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    return {
        "failed": failed,
        "parsed": sum(r.get("summary", {}).get("resource_count", 0) for r in reports),
    }


def test_checkov_finds_nothing_but_the_written_waivers() -> None:
    report = checkov(ROOT / "infra")
    assert report["parsed"] > 40 and report["failed"] == []


def test_checkov_fails_without_a_waiver(broken: Path) -> None:
    module = broken / "infra" / "modules" / "function" / "main.tf"
    module.write_text(
        "\n".join(line for line in module.read_text().splitlines() if "checkov:skip" not in line)
    )
    assert any("CKV_GCP_124" in f for f in checkov(broken / "infra")["failed"])


def test_every_terraform_file_parses_and_envs_differ_only_in_tfvars() -> None:
    import hcl2

    files = sorted((ROOT / "infra").rglob("*.tf")) + sorted((ROOT / "infra").rglob("*.tfvars"))
    for path in files:
        with open(path) as handle:
            assert hcl2.load(handle) is not None, path
    dev, prod = (ROOT / "infra" / "envs" / env / "main.tf" for env in ("dev", "prod"))
    assert dev.read_text() == prod.read_text()
    variables: dict[str, Any] = {}
    for path in [*(ROOT / "infra").glob("*.tf"), *(ROOT / "infra").rglob("modules/*/*.tf")]:
        with open(path) as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("variable", []):
            variables |= {f"{path.parent.name}/{k}": v for k, v in block.items()}
        for block in parsed.get("output", []):
            assert all("description" in v for v in block.values()), path
    assert variables and all("type" in v and "description" in v for v in variables.values())


def test_production_is_watched_and_recoverable() -> None:
    assert operations_problems(ROOT) == []


def test_a_missing_alert_or_an_unprotected_database_is_caught(broken: Path) -> None:
    monitoring = broken / "infra" / "monitoring.tf"
    text = monitoring.read_text()
    text = text.replace(
        'resource "google_monitoring_alert_policy" "dead_letters"',
        'resource "google_monitoring_alert_policy" "gone"',
    )
    text = text.replace("ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_50")
    monitoring.write_text(text)
    firestore = broken / "infra" / "firestore.tf"
    firestore.write_text(
        firestore.read_text()
        .replace("DELETE_PROTECTION_ENABLED", "DELETE_PROTECTION_DISABLED")
        .replace("daily_recurrence {}", "")
    )
    found = operations_problems(broken)
    assert "no alert policy dead_letters" in found
    assert "alert callback_latency does not watch ALIGN_PERCENTILE_99" in found
    assert any("delete_protection_state is DELETE_PROTECTION_DISABLED" in p for p in found)
    assert "Firestore has no daily backup schedule with a retention" in found


def test_an_alert_the_runbook_does_not_explain_is_caught(broken: Path) -> None:
    runbook = (ROOT / "docs" / "operations.md").read_text()
    (broken / "docs" / "operations.md").write_text(
        runbook.replace("`scheduler_failures`", "scheduler")
    )
    assert operations_problems(broken) == [
        "docs/operations.md does not explain alert scheduler_failures"
    ]


def test_placement_is_deliberate() -> None:
    assert placement_problems(ROOT) == []


def test_misplaced_resources_are_caught(broken: Path) -> None:
    topic = broken / "infra" / "modules" / "topic" / "main.tf"
    topic.write_text(topic.read_text().replace("[var.region]", '["us-central1"]', 1))
    function = broken / "infra" / "modules" / "function" / "main.tf"
    text = function.read_text()
    text = text.replace(
        "      audience              = google_cloudfunctions2_function.fn.service_config[0].uri\n",
        "",
    )
    text = text.replace("roles/iam.serviceAccountTokenCreator", "roles/viewer")
    function.write_text(text)
    tfvars = broken / "infra" / "envs" / "dev" / "terraform.tfvars"
    tfvars.write_text(tfvars.read_text().replace('"asia-east2"', '"us-west9"', 1))
    found = placement_problems(broken)
    assert "topic main: messages are not kept to var.region (its key's region)" in found
    assert "push subscription push: the OIDC audience is not the service URL" in found
    assert "the Pub/Sub service agent cannot mint the push identity's tokens" in found
    assert "dev: region 'us-west9' lacks a service siyu needs" in found


def test_the_audit_log_is_append_only_and_expires() -> None:
    """Its own database (the name the code reads), TTL on expire_at, and the functions'
    only grant on it is a role that creates and reads but never updates or deletes."""
    resources = _firestore_resources()
    assert resources["google_firestore_database.audit"]["name"] == Settings().audit_database
    ttl = resources["google_firestore_field.audit_ttl"]
    assert (ttl["collection"], ttl["field"]) == ("audit", "expire_at")
    permissions = resources["google_project_iam_custom_role.audit_appender"]["permissions"]
    assert "datastore.entities.create" in permissions
    assert not [p for p in permissions if p.endswith((".update", ".delete"))]
    main = (ROOT / "infra" / "main.tf").read_text()
    assert "databases/(default)" in main  # datastore.user stops at the main database
    assert "google_project_iam_custom_role.audit_appender.id" in main
    ttl_collections = resources["google_firestore_field.ttl"]["for_each"]
    assert "ops_sessions" in ttl_collections and "ops_idempotency" in ttl_collections


def test_the_inbox_event_text_is_not_indexed() -> None:
    """InboxRepo stores the event as its JSON text and never queries it (erasure looks up
    `external_user_id`): its single-field index is switched off (an empty index_config)."""
    fields = [
        body
        for address, body in _firestore_resources().items()
        if address.startswith("google_firestore_field.")
    ]
    [event] = [f for f in fields if (f["collection"], f["field"]) == ("inbox", "event")]
    [config] = event["index_config"]
    assert set(config) <= {"__is_block__"}  # no `indexes`: none kept
    inbox = (ROOT / "shared" / "siyu" / "adapters" / "firestore" / "inbox.py").read_text()
    assert '"event": event.model_dump_json()' in inbox
    assert 'FieldFilter("event' not in inbox


def _firestore_resources() -> dict[str, dict[str, Any]]:
    """infra/firestore.tf's resources by address ("google_firestore_field.ttl")."""
    with open(ROOT / "infra" / "firestore.tf") as handle:
        parsed = hcl2.load(handle)
    return {
        _unquoted(kind) + "." + _unquoted(name): _unquoted(body)
        for block in parsed["resource"]
        for kind, named in block.items()
        for name, body in named.items()
    }


def _unquoted(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip('"')
    if isinstance(value, dict):
        return {k.strip('"'): _unquoted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquoted(v) for v in value]
    return value
