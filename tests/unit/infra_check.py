"""Offline checks that infra/ declares what the code uses (no google provider needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
from pydantic import SecretStr

from siyu.config import Settings
from siyu.devstack.registry import FUNCTIONS, OUTBOUND_TOPICS, dead_letter

# Secrets only the local stack uses: production ops authenticate with IAM instead.
LOCAL_ONLY_SECRETS = {"SIYU_OPS_TOKEN"}


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def load_locals(infra: Path) -> dict[str, Any]:
    with open(infra / "main.tf") as handle:
        parsed = hcl2.load(handle)
    merged: dict[str, Any] = {}
    for block in parsed.get("locals", []):
        merged.update(_unquote(block))
    return merged


def problems(root: Path) -> list[str]:
    """Everything on which the code and Terraform disagree; empty when they agree."""
    infra, found = root / "infra", []
    local = load_locals(infra)
    declared = local.get("functions", {})
    folders = {p.parent.name for p in (root / "functions").glob("*/main.py")}
    registry = {f.name: f for f in FUNCTIONS}
    for name in sorted(folders | set(declared) | set(registry)):
        if name not in folders:
            found.append(f"{name}: declared but functions/{name}/main.py is missing")
        if name not in declared:
            found.append(f"{name}: functions/{name} has no Terraform function")
            continue
        if name not in registry:
            found.append(f"{name}: not in the local stack's registry")
            continue
        topic = declared[name].get("trigger_topic")
        topic = None if topic in (None, "null", "${null}") else topic
        if (topic or "") != registry[name].topic:
            found.append(f"{name}: Terraform trigger {topic!r} != code {registry[name].topic!r}")
        source = (root / "functions" / name / "main.py").read_text()
        if f"def {name}(" not in source:
            found.append(f"{name}: main.py defines no entry point {name}()")
    topics = set(local.get("topics", []))
    for fn in FUNCTIONS:
        if fn.topic and fn.topic not in topics:
            found.append(f"topic {fn.topic} is used by {fn.name} but not declared")
    for outbound in OUTBOUND_TOPICS:
        if outbound not in topics:
            found.append(f"outbound topic {outbound} is published but not declared")
    topic_module = (infra / "modules" / "topic" / "main.tf").read_text()
    if '"${var.name}-dlq"' not in topic_module:
        found.append("the topic module declares no <name>-dlq dead-letter topic")
    for fn_name, cfg in declared.items():
        for target in cfg.get("publishes_to", []):
            base = target.removesuffix("-dlq")
            if base not in topics or (target != base and target != dead_letter(base)):
                found.append(f"{fn_name} publishes to undeclared topic {target}")
    settings_env = {f"SIYU_{n.upper()}": f for n, f in Settings.model_fields.items()}
    secrets = set(local.get("secrets", {}))
    for env, field in settings_env.items():
        is_secret = SecretStr in (getattr(field.annotation, "__args__", ()) or (field.annotation,))
        if is_secret and env not in secrets and env not in LOCAL_ONLY_SECRETS:
            found.append(f"secret {env} is read by Settings but not wired from Secret Manager")
    for env in local.get("plain_env", {}):
        if env.startswith("SIYU_") and env not in settings_env:
            found.append(f"plain_env {env} is not a Settings field")
    for env in secrets:
        if env not in settings_env:
            found.append(f"secret {env} is not a Settings field")
    return found
