"""The hashicorp/google and google-beta schemas, read from cdktf's prebuilt providers, and a
check of infra/**/*.tf against them (no provider binary, no network).

cdktf-cdktf-provider-google{,-beta} 16.12.1 are generated from the providers' 6.50.0 schema
and carry it as a jsii assembly (`_jsii/*.jsii.tgz` -> `package/.jsii`): per resource and data
source a Config interface (the arguments; `optional` absent means required; nested blocks
are datatype interfaces) and a class whose getters are every readable attribute. The first
run extracts one small JSON per type into a cache; later runs read only the types in use.
"""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

PROVIDERS = ("google", "google-beta")
_REGISTRY = re.compile(
    r"providers/hashicorp/(?P<provider>google(?:-beta)?)/(?P<version>[\d.]+)/docs/"
    r"(?P<kind>resources|data-sources)/\w+ (?P<type>\w+)\}"
)
_ANCHOR = re.compile(r"#(\w+) \w+#\w+\}")
_BASES = {"cdktf.TerraformResource": "resource", "cdktf.TerraformDataSource": "data"}
META = {"count", "for_each", "provider", "depends_on", "lifecycle", "connection", "provisioner"}
MODULE_META = {"source", "version", "count", "for_each", "providers", "depends_on"}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _struct(types: dict[str, Any], ref: Any) -> str | None:
    """The datatype interface a property's type names, through unions and collections."""
    if not isinstance(ref, dict):
        return None
    fqn = ref.get("fqn")
    if fqn:
        target = types.get(fqn, {})
        return fqn if target.get("kind") == "interface" and target.get("datatype") else None
    for inner in ref.get("union", {}).get("types", []):
        found = _struct(types, inner)
        if found:
            return found
    return _struct(types, ref.get("collection", {}).get("elementtype"))


def _element(ref: Any) -> str | None:
    """The OutputReference a getter's List/Map/OutputReference type reads through."""
    fqn = ref.get("fqn", "") if isinstance(ref, dict) else ""
    for suffix in ("List", "Map"):
        if fqn.endswith(suffix):
            return fqn[: -len(suffix)] + "OutputReference"
    return fqn if fqn.endswith("OutputReference") else None


def _block(types: dict[str, Any], struct: str | None, output: str | None, depth: int = 0) -> dict:
    """{"args": {name: {"required", "block"}}, "attrs": {name: nested or None}}."""
    args: dict[str, Any] = {}
    for prop in types.get(struct or "", {}).get("properties", []):
        docs = prop.get("docs", {})
        anchor = _ANCHOR.search(docs.get("remarks", "") + " " + docs.get("summary", ""))
        nested = _struct(types, prop["type"])
        args[anchor.group(1) if anchor else _snake(prop["name"])] = {
            "required": not prop.get("optional"),
            "block": _block(types, nested, nested + "OutputReference", depth + 1)
            if nested and depth < 12
            else None,
        }
    attrs: dict[str, Any] = {}
    for prop in types.get(output or "", {}).get("properties", []):
        name = prop["name"]
        if prop.get("static") or name.endswith("Input") or name == "internalValue":
            continue
        snake = _snake(name)
        if snake in args:
            continue
        inner = _element(prop["type"])
        attrs[snake] = _block(types, None, inner, depth + 1) if inner and depth < 12 else None
    return {"args": args, "attrs": attrs}


def read_assembly(wheel: Path) -> dict[str, Any]:
    """package/.jsii out of the wheel's jsii tarball, streamed (it is the first member)."""
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(".jsii.tgz"))
        with archive.open(member) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            for entry in tar:
                if entry.name == "package/.jsii":
                    handle = tar.extractfile(entry)
                    assert handle is not None
                    return json.load(handle)  # type: ignore[no-any-return]
    raise ValueError(f"{wheel.name} holds no jsii assembly")


def extract(assembly: dict[str, Any], into: Path) -> str:
    """Write <kind>/<type>.json for every resource and data source; return the version."""
    types, version = assembly["types"], ""
    for fqn, spec in types.items():
        kind = _BASES.get(spec.get("base", ""))
        found = _REGISTRY.search(spec.get("docs", {}).get("summary", ""))
        if spec.get("kind") != "class" or not kind or not found:
            continue
        version = found["version"]
        config = spec["initializer"]["parameters"][2]["type"]["fqn"]
        target = into / kind / f"{found['type']}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(_block(types, config, fqn), separators=(",", ":")))
    (into / "VERSION").write_text(version)
    return version


@dataclass
class Schemas:
    """Lazily read cached schemas: {provider: folder}."""

    folders: dict[str, Path]
    _loaded: dict[tuple[str, str, str], dict | None] = field(default_factory=dict)

    def version(self, provider: str) -> str:
        return (self.folders[provider] / "VERSION").read_text().strip()

    def get(self, provider: str, kind: str, rtype: str) -> dict | None:
        key = (provider, kind, rtype)
        if key not in self._loaded:
            path = self.folders[provider] / kind / f"{rtype}.json"
            self._loaded[key] = json.loads(path.read_text()) if path.exists() else None
        return self._loaded[key]


def cached_schemas(wheels: Path, cache: Path) -> Schemas:
    """Extract each provider's wheel once into `cache`; afterwards only read the cache."""
    folders = {}
    for provider in PROVIDERS:
        package = "cdktf_cdktf_provider_" + provider.replace("-", "_")
        wheel = next(iter(sorted(wheels.glob(f"{package}-*.whl"))), None)
        if wheel is None:
            raise FileNotFoundError(f"no {package} wheel in {wheels}: run `make infra-schema`")
        folder = cache / wheel.stem
        if not (folder / "VERSION").exists():
            extract(read_assembly(wheel), folder)
        folders[provider] = folder
    return Schemas(folders)


# ---- the check -------------------------------------------------------------------------

_REF = re.compile(
    r"(?<![\w.-])(?P<data>data\.)?(?P<type>google_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?:\[[^\]]*\])?\.(?P<path>[a-z_][a-z0-9_]*(?:(?:\[[^\]]*\])|\.[a-z_][a-z0-9_]*)*)"
)
_MODULE_REF = re.compile(r"(?<![\w.])module\.(?P<name>[\w-]+)(?:\[[^\]]*\])?\.(?P<out>\w+)")
_VAR_REF = re.compile(r"(?<![\w.])var\.(\w+)")


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, dict) and v.get("__is_block__") for v in value
    )


@dataclass
class Module:
    folder: Path
    blocks: dict[str, list[tuple[str, str, dict]]]  # kind -> (type, name, body)
    variables: dict[str, dict]
    outputs: set[str]
    text: str


def read_module(folder: Path) -> Module:
    blocks: dict[str, list[tuple[str, str, dict]]] = {"resource": [], "data": [], "module": []}
    variables: dict[str, dict] = {}
    outputs: set[str] = set()
    texts = []
    for tf in sorted(folder.glob("*.tf")):
        texts.append(tf.read_text())
        with open(tf) as handle:
            parsed = hcl2.load(handle)
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for rtype, items in block.items():
                    for name, body in items.items():
                        blocks[kind].append((_unquote(rtype), _unquote(name), body))
        for block in parsed.get("module", []):
            for name, body in block.items():
                blocks["module"].append(("module", _unquote(name), body))
        for block in parsed.get("variable", []):
            variables.update({_unquote(k): v for k, v in block.items()})
        for block in parsed.get("output", []):
            outputs.update(_unquote(k) for k in block)
    return Module(folder, blocks, variables, outputs, "\n".join(texts))


def _provider_of(body: dict) -> str:
    return "google-beta" if "google-beta" in str(body.get("provider", "")) else "google"


def _body_problems(body: dict, schema: dict, where: str) -> list[str]:
    found, given = [], {}
    for key, value in body.items():
        key = _unquote(key)
        if key.startswith("__") or key in META:
            continue
        if key == "dynamic":
            for dynamic in value:
                for name, spec in dynamic.items():
                    given[_unquote(name)] = spec.get("content", [])
            continue
        given[key] = value
    for key, value in given.items():
        arg = schema["args"].get(key)
        if arg is None:
            what = "a read-only attribute" if key in schema["attrs"] else "not an argument"
            found.append(f"{where}: `{key}` is {what}")
            continue
        if arg["block"] is not None and _is_block(value):
            for i, nested in enumerate(value):
                found += _body_problems(nested, arg["block"], f"{where}.{key}[{i}]")
        elif arg["block"] is None and _is_block(value):
            found.append(f"{where}: `{key}` is an attribute, not a block")
    for name, arg in sorted(schema["args"].items()):
        if arg["required"] and name not in given:
            found.append(f"{where}: required `{name}` is missing")
    return found


def _path_problems(schema: dict, path: str, where: str) -> list[str]:
    node: dict | None = schema
    for segment in re.sub(r"\[[^\]]*\]", "", path).split("."):
        if node is None:
            return []  # a map or an object attribute: its keys are data, not schema
        if segment in node["args"]:
            node = node["args"][segment]["block"]
        elif segment in node["attrs"]:
            node = node["attrs"][segment]
        else:
            return [f"{where}: `{segment}` is not an attribute"]
    return []


def module_problems(module: Module, schemas: Schemas, root: Path) -> list[str]:
    found: list[str] = []
    rel = module.folder.relative_to(root)
    declared = {(k, t, n): b for k, items in module.blocks.items() for t, n, b in items}
    for kind in ("resource", "data"):
        for rtype, name, body in module.blocks[kind]:
            if not rtype.startswith("google_"):
                continue
            where = f"{rel}: {'data.' if kind == 'data' else ''}{rtype}.{name}"
            schema = schemas.get(_provider_of(body), kind, rtype)
            if schema is None:
                found.append(f"{where}: no such {kind} in {_provider_of(body)}")
                continue
            found += _body_problems(body, schema, where)
    for ref in _REF.finditer(module.text):
        kind = "data" if ref["data"] else "resource"
        referred = declared.get((kind, ref["type"], ref["name"]))
        where = f"{rel}: {ref.group(0)}"
        if referred is None:
            found.append(f"{where}: refers to an undeclared {kind}")
            continue
        schema = schemas.get(_provider_of(referred), kind, ref["type"])
        if schema is not None:
            found += _path_problems(schema, ref["path"], where)
    found += _module_call_problems(module, root)
    for name in sorted(set(_VAR_REF.findall(module.text)) - set(module.variables)):
        found.append(f"{rel}: var.{name} is not a declared variable")
    return found


def _module_call_problems(module: Module, root: Path) -> list[str]:
    found, rel = [], module.folder.relative_to(root)
    called: dict[str, Module] = {}
    for _, name, body in module.blocks["module"]:
        source = _unquote(str(body.get("source", "")))
        if not source.startswith("./") and not source.startswith("../"):
            continue
        child = read_module((module.folder / source).resolve())
        called[name] = child
        given = {_unquote(k) for k in body if not k.startswith("__")} - MODULE_META
        for extra in sorted(given - set(child.variables)):
            found.append(f"{rel}: module {name} passes `{extra}`, which {source} does not declare")
        for var, spec in sorted(child.variables.items()):
            if "default" not in spec and var not in given:
                found.append(f"{rel}: module {name} does not pass required `{var}`")
    for ref in _MODULE_REF.finditer(module.text):
        target = called.get(ref["name"])
        if target is None:
            found.append(f"{rel}: module.{ref['name']} is not called here")
        elif ref["out"] not in target.outputs:
            found.append(f"{rel}: module.{ref['name']} has no output `{ref['out']}`")
    return found


def _constraint_problems(infra: Path, schemas: Schemas) -> list[str]:
    found = []
    with open(infra / "versions.tf") as handle:
        parsed = hcl2.load(handle)
    required: dict[str, Any] = {}
    for block in parsed.get("terraform", []):
        for providers in block.get("required_providers", []):
            required.update({_unquote(k): v for k, v in providers.items()})
    for provider in PROVIDERS:
        major, minor, _patch = schemas.version(provider).split(".")
        want = f"~> {major}.{minor}"
        got = _unquote(str((required.get(provider) or {}).get("version", "")))
        if got != want:
            found.append(f"versions.tf: {provider} is `{got}`; the schema checked is {want}")
    return found


def schema_problems(root: Path, schemas: Schemas) -> list[str]:
    """Everything in infra/ the provider schemas refuse; empty when all of it is known."""
    infra = root / "infra"
    modules = sorted(p for p in (infra / "modules").iterdir() if p.is_dir())
    folders = [infra, *modules, *sorted(p for p in (infra / "envs").iterdir() if p.is_dir())]
    found = _constraint_problems(infra, schemas)
    for folder in folders:
        found += module_problems(read_module(folder), schemas, root)
    return found
