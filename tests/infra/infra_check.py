"""Offline checks that infra/ declares what the code uses (no google provider needed)."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path
from typing import Any

import hcl2
import yaml
from pydantic import SecretStr

from siyu.adapters.pubsub import DELIVERY
from siyu.config import Settings
from siyu.devstack.openapi import load_function
from siyu.devstack.registry import FUNCTIONS, OUTBOUND_TOPICS, dead_letter

# Secrets only the local stack uses: production ops authenticate with IAM instead.
LOCAL_ONLY_SECRETS = {"SIYU_OPS_TOKEN"}
ROLES = {"public", "viewer", "operator", "admin"}


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
        wired = set(declared[name].get("secrets", []))
        for call in re.findall(r"settings(?:\(\))?\.require\(([^)]*)\)", source):
            for secret in re.findall(r'"([a-z_]+)"', call):
                if f"SIYU_{secret.upper()}" not in wired:
                    found.append(
                        f"{name}: requires SIYU_{secret.upper()} but Terraform gives it none"
                    )
    found += _delivery_problems(infra)
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
    jobs = local.get("scheduled_jobs", {}) or {}
    scheduled = {fn.topic: fn for fn in FUNCTIONS if fn.schedule}
    for topic, fn in scheduled.items():
        if not any(
            j.get("topic") == topic and j.get("schedule") == fn.schedule for j in jobs.values()
        ):
            found.append(f"{fn.name} runs on '{fn.schedule}' but no scheduler job feeds {topic}")
    for job, cfg in jobs.items():
        if cfg.get("topic") not in scheduled:
            found.append(
                f"scheduler job {job} ticks {cfg.get('topic')!r}, which no scheduled function reads"
            )
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


def _delivery_problems(infra: Path) -> list[str]:
    """The push subscriptions' retry policy and attempts are the registry's DELIVERY."""
    module = (infra / "modules" / "function" / "main.tf").read_text()
    root = (infra / "main.tf").read_text()
    expected = {
        f'minimum_backoff = "{DELIVERY.minimum_backoff_s}s"': module,
        f'maximum_backoff = "{DELIVERY.maximum_backoff_s}s"': module,
        f"max_delivery_attempts = {DELIVERY.max_delivery_attempts}": root,
    }
    return [
        f"Terraform's push subscriptions lack `{line}` (the local stack's delivery policy)"
        for line, text in expected.items()
        if line not in " ".join(text.split())
    ]


def http_routes(root: Path) -> set[tuple[str, str]]:
    """(method, path) of every HTTP function: the registry's, ops_api's Router and the
    console's files."""
    routes = {(m, fn.path) for fn in FUNCTIONS if fn.path for m in fn.methods}
    routes |= set(load_function(root / "functions/ops_console/main.py").ASSETS.routes())
    return routes | set(load_function(root / "functions/ops_api/main.py").ROUTES.routes())


CUSTOM_VERB = re.compile(r"(/[^/:]+)+:[a-z][A-Za-z]*")


def openapi_problems(root: Path) -> list[str]:
    """Where infra/api/openapi.yaml and the functions' routes disagree."""
    doc = yaml.safe_load((root / "infra/api/openapi.yaml").read_text())
    documented = {
        (method.upper(), path)
        for path, item in doc.get("paths", {}).items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }
    code = http_routes(root)
    found = [f"{m} {p} is served but not in openapi.yaml" for m, p in sorted(code - documented)]
    found += [
        f"{m} {p} is in openapi.yaml but served by no function"
        for m, p in sorted(documented - code)
    ]
    backends = {fn.path: fn.name for fn in FUNCTIONS if fn.path}
    deadlines = {fn.name: fn.deadline for fn in FUNCTIONS if fn.path}
    if "x-google-backend" in doc:
        found.append("a top-level x-google-backend: name the backend on every operation")
    for path, item in doc.get("paths", {}).items():
        prefix = next((p for p in backends if path == p or path.startswith(p + "/")), None)
        if "x-google-backend" in item:
            found.append(f"{path}: x-google-backend at path level is ignored by API Gateway")
        if ":" in path and not CUSTOM_VERB.fullmatch(path):
            # ESP(v2) reads a ':' in the last segment as the custom verb of Google's HTTP
            # template (`/v1/{name}:cancel`; cloudendpoints/esp#257); anywhere else it is a
            # partial-segment template, which Endpoints rejects (endpoints/docs/openapi/
            # openapi-limitations, "URL path templating").
            found.append(f"{path}: a ':' is taken only as a custom verb ending the last segment")
        for method, op in item.items():
            if method == "parameters" or method.startswith("x-"):
                continue
            name = backends.get(prefix or "", "?")
            backend = op.get("x-google-backend") or {}
            want = (f"${{{name}_url}}", deadlines.get(name))
            got = (backend.get("address"), backend.get("deadline"))
            if got != want:
                found.append(f"{method.upper()} {path} goes to {got}, not {want} ({name})")
            if op.get("security"):
                # A gateway check would turn browsers away: they carry a session, no ID token.
                found.append(f"{method.upper()} {path}: ops_api checks callers, not the gateway")
            if path.startswith("/ops/") and op.get("x-siyu-role") not in ROLES:
                found.append(f"{method.upper()} {path}: ops paths declare their role")
    return found


def composite_queries(root: Path) -> set[tuple[str, tuple[str, ...]]]:
    """(collection, fields) of each adapter method whose query touches more than one field.

    Collections come from `self.<attr> = db.collection(<name>)` in a repository's or its
    base's __init__, the name a string or a class attribute (`collection = "customers"`);
    methods are the class's own and its bases'. Fields come from FieldFilter(<field>, ...)
    and .order_by(<field>): a string, or a parameter annotated with a Literal alias (each
    value is its own query).
    """
    literals = _literal_aliases(root / "shared/siyu")
    found: set[tuple[str, tuple[str, ...]]] = set()
    for source in (root / "shared/siyu/adapters/firestore").glob("*.py"):
        tree = ast.parse(source.read_text())
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        for cls in classes.values():
            collections = _collections_of(cls, classes)
            for klass in _lineage(cls, classes):
                for method in (n for n in klass.body if isinstance(n, ast.FunctionDef)):
                    for attr, fields in _method_queries(method, set(collections), literals):
                        found.add((collections[attr], fields))
    return found


def _method_queries(
    method: ast.FunctionDef, collection_attrs: set[str], literals: dict[str, tuple[str, ...]]
) -> list[tuple[str, tuple[str, ...]]]:
    choices = {
        arg.arg: literals[arg.annotation.id]
        for arg in method.args.args
        if isinstance(arg.annotation, ast.Name) and arg.annotation.id in literals
    }
    named: list[tuple[int, int, str, bool]] = []  # source position, field or parameter
    receivers: set[str] = set()
    for call in (n for n in ast.walk(method) if isinstance(n, ast.Call)):
        name = getattr(call.func, "attr", getattr(call.func, "id", ""))
        if name in {"FieldFilter", "order_by"} and call.args:
            first = call.args[0]
            at = (first.lineno, first.col_offset)
            if isinstance(first, ast.Constant):
                named.append((*at, str(first.value), False))
            elif isinstance(first, ast.Name) and first.id in choices:
                named.append((*at, first.id, True))
            elif ast.unparse(first) == "FieldPath.document_id()":
                pass  # ordering by id after equality filters needs no composite index
            else:  # a field this check cannot know must not pass unseen
                named.append((*at, f"<unknown: {ast.unparse(first)}>", False))
        if name in {"where", "order_by"}:
            receivers |= _root_attrs(call.func) & collection_attrs
    ordered = [(field, param) for *_pos, field, param in sorted(named)]
    params = sorted({f for f, param in ordered if param})
    queries = []
    for values in itertools.product(*(choices[p] for p in params)):
        chosen = dict(zip(params, values, strict=True))
        fields = tuple(dict.fromkeys(chosen[f] if param else f for f, param in ordered))
        if len(fields) > 1:
            queries += [(attr, fields) for attr in receivers]
    return queries


def _literal_aliases(package: Path) -> dict[str, tuple[str, ...]]:
    """`Name = Literal["a", "b"]` anywhere in the package: Name → ("a", "b")."""
    found: dict[str, tuple[str, ...]] = {}
    for source in package.rglob("*.py"):
        for node in ast.parse(source.read_text()).body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Subscript)
                and getattr(node.value.value, "id", "") == "Literal"
            ):
                items = node.value.slice
                elements = items.elts if isinstance(items, ast.Tuple) else [items]
                values = tuple(str(e.value) for e in elements if isinstance(e, ast.Constant))
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = values
    return found


def _lineage(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> list[ast.ClassDef]:
    """The class, then its bases defined in the same module, nearest first."""
    line = [cls]
    for base in cls.bases:
        if isinstance(base, ast.Name) and base.id in classes:
            line += _lineage(classes[base.id], classes)
    return line


def _class_constant(cls: ast.ClassDef, name: str, classes: dict[str, ast.ClassDef]) -> str | None:
    for klass in _lineage(cls, classes):
        for node in klass.body:
            value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if isinstance(value, ast.Constant) and any(
                isinstance(t, ast.Name) and t.id == name for t in targets
            ):
                return str(value.value)
    return None


def _collections_of(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> dict[str, str]:
    out: dict[str, str] = {}
    for klass in _lineage(cls, classes):
        for node in ast.walk(klass):
            if not (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "attr", "") == "collection"
                and node.value.args
            ):
                continue
            arg = node.value.args[0]
            name: str | None = None
            if isinstance(arg, ast.Constant):
                name = str(arg.value)
            elif isinstance(arg, ast.Attribute) and getattr(arg.value, "id", "") == "self":
                name = _class_constant(cls, arg.attr, classes)
            for target in node.targets:
                if name is not None and isinstance(target, ast.Attribute):
                    out.setdefault(target.attr, name)
    return out


def _root_attrs(node: ast.AST) -> set[str]:
    return {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def index_problems(root: Path) -> list[str]:
    declared: set[tuple[str, tuple[str, ...]]] = set()
    for tf in (root / "infra").glob("*.tf"):
        with open(tf) as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("resource", []):
            for index in _unquote(block).get("google_firestore_index", {}).values():
                fields = tuple(f["field_path"] for f in index.get("fields", []))
                declared.add((index["collection"], fields))
    return [
        f"composite query on {collection} over {fields} has no google_firestore_index"
        for collection, fields in sorted(composite_queries(root))
        if (collection, fields) not in declared
    ]


# -- count / for_each must be known when planning ------------------------------------------

_APPLY_TIME = re.compile(r"\b(module|data|google_[a-z0-9_]+|google-beta_[a-z0-9_]+)\.")
_LOCAL = re.compile(r"\blocal\.([A-Za-z0-9_]+)")
_VAR = re.compile(r"\bvar\.([A-Za-z0-9_]+)")


def _blocks(path: Path) -> dict[str, Any]:
    with open(path) as handle:
        return _unquote(hcl2.load(handle))  # type: ignore[no-any-return]


def _locals_of(files: list[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for tf in files:
        for block in _blocks(tf).get("locals", []):
            found.update({k: str(v) for k, v in block.items() if k != "__is_block__"})
    return found


def _expand(expression: str, local_values: dict[str, str], depth: int = 0) -> str:
    """The expression with every local.X replaced by X's own expression (recursively)."""
    if depth > 10:
        return expression
    return _LOCAL.sub(
        lambda m: "(" + _expand(local_values.get(m.group(1), ""), local_values, depth + 1) + ")",
        expression,
    )


def _counted(files: list[Path]) -> list[tuple[str, str]]:
    """(where, expression) of every count and for_each in these files."""
    found = []
    for tf in files:
        parsed = _blocks(tf)
        for kind in ("resource", "data", "module"):
            for block in parsed.get(kind, []):
                for rtype, items in block.items():
                    bodies = items.items() if kind != "module" else [(rtype, items)]
                    for name, body in bodies:
                        for meta in ("count", "for_each"):
                            if isinstance(body, dict) and meta in body:
                                found.append((f"{tf.name}: {kind} {rtype} {name}", str(body[meta])))
    return found


def plan_time_problems(root: Path) -> list[str]:
    """count/for_each that reach a resource, data source or module attribute: such a plan
    of a new environment fails ("Invalid count argument … cannot be determined until
    apply"). Module variables feeding a module's count/for_each are followed to the
    caller's argument."""
    infra, found = root / "infra", []
    root_files = sorted(infra.glob("*.tf"))
    root_locals = _locals_of(root_files)
    for where, expression in _counted(root_files):
        if _APPLY_TIME.search(_expand(expression, root_locals)):
            found.append(f"{where}: {expression} is not known when planning")
    for tf in root_files:
        for block in _blocks(tf).get("module", []):
            for name, call in block.items():
                source = str(call.get("source", ""))
                if not source.startswith("./modules/"):
                    continue
                module_files = sorted((infra / source.removeprefix("./")).glob("*.tf"))
                module_locals = _locals_of(module_files)
                for where, expression in _counted(module_files):
                    expanded = _expand(expression, module_locals)
                    for variable in set(_VAR.findall(expanded)):
                        argument = str(call.get(variable, ""))
                        if _APPLY_TIME.search(_expand(argument, root_locals)):
                            found.append(
                                f"module {name} ({where}): var.{variable} = {argument} "
                                "is not known when planning"
                            )
    return found


def gateway_problems(root: Path) -> list[str]:
    """API Gateway runs in its own list of regions: the gateway uses `gateway_region`,
    whose validation names that list, and every environment picks one from it."""
    infra, found = root / "infra", []
    variables = _variables(infra)
    spec = variables.get("gateway_region", {})
    condition = " ".join(str(v.get("condition", "")) for v in spec.get("validation", []))
    allowed = set(re.findall(r'"([a-z]+-[a-z]+\d)"', condition))
    if not allowed:
        found.append("variable gateway_region has no validation listing API Gateway's regions")
    if spec.get("default") not in allowed:
        found.append(f"gateway_region's default {spec.get('default')!r} is not in its list")
    gateways = _resources(infra / "api.tf", "google_api_gateway_gateway").values()
    if any(g.get("region") != "${var.gateway_region}" for g in gateways):
        found.append("google_api_gateway_gateway is not placed in var.gateway_region")
    for tfvars in sorted(infra.glob("envs/*/terraform.tfvars")):
        chosen = _blocks(tfvars).get("gateway_region")
        if chosen not in allowed:
            found.append(f"{tfvars.parent.name}: gateway_region {chosen!r} has no API Gateway")
    return found


def staging_problems(root: Path) -> list[str]:
    """A new environment applies in two stages: while `deploy_functions` is false nothing
    that starts a function (which reads its secrets) or needs one may be planned. Every
    function, every block that reads a function's attributes and every output naming one
    must be gated by var.deploy_functions."""
    infra, found = root / "infra", []
    for tf in sorted(infra.glob("*.tf")):
        parsed = _blocks(tf)
        for block in parsed.get("module", []):
            for name, call in block.items():
                if str(
                    call.get("source", "")
                ) == "./modules/function" and "var.deploy_functions" not in str(
                    call.get("for_each", "")
                ):
                    found.append(f"module {name} is not gated by var.deploy_functions")
        for block in parsed.get("resource", []):
            for rtype, items in block.items():
                for name, body in items.items():
                    text = str({k: v for k, v in body.items() if k not in ("count", "for_each")})
                    needs = "module.function" in text or rtype in (
                        "google_api_gateway_api_config",
                        "google_api_gateway_gateway",
                    )
                    gate = str(body.get("count", "")) + str(body.get("for_each", ""))
                    if needs and "var.deploy_functions" not in gate:
                        found.append(
                            f"{tf.name}: {rtype}.{name} is not gated by var.deploy_functions"
                        )
        for block in parsed.get("output", []):
            for name, body in block.items():
                value = str(body.get("value", ""))
                if "google_api_gateway_gateway" in value and "var.deploy_functions" not in value:
                    found.append(f"output {name} reads the gateway without var.deploy_functions")
    for tfvars in sorted(infra.glob("envs/*/terraform.tfvars")):
        if "deploy_functions" not in _blocks(tfvars):
            found.append(f"{tfvars.parent.name}: terraform.tfvars does not set deploy_functions")
    return found


def _variables(infra: Path) -> dict[str, dict[str, Any]]:
    return {k: v for b in _blocks(infra / "variables.tf").get("variable", []) for k, v in b.items()}


def _resources(tf: Path, rtype: str) -> dict[str, dict[str, Any]]:
    return (
        {
            name: body
            for block in _blocks(tf).get("resource", [])
            for name, body in block.get(rtype, {}).items()
        }
        if tf.exists()
        else {}
    )


# What each alert policy must watch: a word of its filter (docs/operations.md explains it).
ALERTS = {
    "dead_letters": ("-dlq-ops", "num_undelivered_messages"),
    "server_errors": ("response_code_class", "5xx", "denominator_filter"),
    "callback_latency": ("ALIGN_PERCENTILE_99", "run.googleapis.com/request_latencies"),
    "scheduler_failures": ("cloud_scheduler_job", "severity>=ERROR"),
}


def operations_problems(root: Path) -> list[str]:
    """Production is watched and its data recoverable: the four alert policies notify
    var.notification_channels and carry a runbook; Firestore has point-in-time recovery,
    delete protection and daily backups; docs/operations.md explains every alert."""
    infra, found = root / "infra", []
    policies = _resources(infra / "monitoring.tf", "google_monitoring_alert_policy")
    readme = (root / "docs" / "operations.md").read_text()
    for name, words in ALERTS.items():
        body = policies.get(name)
        if body is None:
            found.append(f"no alert policy {name}")
            continue
        text = str(body.get("conditions"))
        found += [f"alert {name} does not watch {w}" for w in words if w not in text]
        if body.get("notification_channels") != "${var.notification_channels}":
            found.append(f"alert {name} does not notify var.notification_channels")
        if not body.get("documentation"):
            found.append(f"alert {name} has no documentation for the on-call")
        if f"`{name}`" not in readme:
            found.append(f"docs/operations.md does not explain alert {name}")
    latency = str(policies.get("callback_latency", {}).get("conditions"))
    if "var.alert_callback_p99_ms" not in latency:
        found.append("callback_latency does not use var.alert_callback_p99_ms")
    variables = _variables(infra)
    if variables.get("alert_callback_p99_ms", {}).get("default") != 2000:
        found.append("the callback p99 alert is not at 2 s")
    database = _resources(infra / "firestore.tf", "google_firestore_database").get("main", {})
    wanted = {
        "point_in_time_recovery_enablement": "POINT_IN_TIME_RECOVERY_ENABLED",
        "delete_protection_state": "DELETE_PROTECTION_ENABLED",
        "deletion_policy": "ABANDON",
    }
    for key, value in wanted.items():
        if database.get(key) != value:
            found.append(f"Firestore {key} is {database.get(key)}, not {value}")
    schedules = _resources(infra / "firestore.tf", "google_firestore_backup_schedule")
    if not any("daily_recurrence" in s and s.get("retention") for s in schedules.values()):
        found.append("Firestore has no daily backup schedule with a retention")
    return found


def placement_problems(root: Path) -> list[str]:
    """Everything regional sits in var.region, which is validated against the regions that
    offer all of it; topics store messages only there, beside their regional CMEK key; push
    tokens carry the service URL as audience; Pub/Sub may mint the push identity's tokens."""
    infra, found = root / "infra", []
    variables = _variables(infra)
    region = variables.get("region", {})
    allowed = set(re.findall(r'"([a-z]+-[a-z]+\d)"', str(region.get("validation", ""))))
    if region.get("default") not in allowed:
        found.append("variable region has no validation listing where every service runs")
    for tfvars in sorted(infra.glob("envs/*/terraform.tfvars")):
        chosen = _blocks(tfvars).get("region")
        if chosen not in allowed:
            found.append(f"{tfvars.parent.name}: region {chosen!r} lacks a service siyu needs")
    rings = _resources(infra / "kms.tf", "google_kms_key_ring")
    if any(r.get("location") != "${var.region}" for r in rings.values()) or not rings:
        found.append("the KMS key ring is not in var.region")
    topic = infra / "modules/topic/main.tf"
    for name, body in _resources(topic, "google_pubsub_topic").items():
        policy = str(body.get("message_storage_policy", ""))
        if "allowed_persistence_regions" not in policy or "var.region" not in policy:
            found.append(f"topic {name}: messages are not kept to var.region (its key's region)")
    function = infra / "modules/function/main.tf"
    for name, body in _resources(function, "google_pubsub_subscription").items():
        push = str(body.get("push_config", ""))
        if "audience" not in push or "service_config[0].uri}" not in push.split("audience")[1]:
            found.append(f"push subscription {name}: the OIDC audience is not the service URL")
    grants = _resources(function, "google_service_account_iam_member").values()
    if not any(
        g.get("role") == "roles/iam.serviceAccountTokenCreator"
        and "var.pubsub_service_agent" in str(g.get("member"))
        for g in grants
    ):
        found.append("the Pub/Sub service agent cannot mint the push identity's tokens")
    return found
