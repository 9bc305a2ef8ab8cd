"""`make build`: one deployable bundle per function, which Terraform zips and uploads.

Each bundle holds the function's main.py, the `siyu` package without the local stack and
the CLI, their bytecode, and a requirements.txt pinning every runtime distribution to the
version tested here (the dependency closure of pyproject's dependencies, as installed in
this venv).
"""

from __future__ import annotations

import argparse
import compileall
import py_compile
import shutil
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from siyu.devstack.registry import FUNCTIONS, ROOT

NOT_SHIPPED = ("devstack", "cli.py", "ops_client.py", "__pycache__")


def pinned_requirements() -> list[str]:
    """name==version for the runtime dependencies and everything they pull in."""
    with open(ROOT / "pyproject.toml", "rb") as handle:
        roots = tomllib.load(handle)["project"]["dependencies"]
    environment = {k: str(v) for k, v in default_environment().items()}
    pins: dict[str, str] = {}
    pending = [Requirement(r) for r in roots]
    while pending:
        req = pending.pop()
        if req.marker is not None and not req.marker.evaluate({**environment, "extra": ""}):
            continue
        name = canonicalize_name(req.name)
        if name in pins:
            continue
        dist = metadata.distribution(req.name)
        pins[name] = f"{name}=={dist.version}"
        pending += [Requirement(r) for r in dist.requires or []]
    return sorted(pins.values())


def build(out: Path) -> list[Path]:
    requirements = "\n".join(pinned_requirements()) + "\n"
    package = ROOT / "shared" / "siyu"
    bundles = []
    for fn in FUNCTIONS:
        bundle = out / fn.name
        shutil.rmtree(bundle, ignore_errors=True)
        bundle.mkdir(parents=True)
        shutil.copy2(fn.source, bundle / "main.py")
        # The console's files go with the function that serves them only.
        skipped = NOT_SHIPPED if fn.name == "ops_console" else (*NOT_SHIPPED, "console")
        shutil.copytree(package, bundle / "siyu", ignore=shutil.ignore_patterns(*skipped))
        (bundle / "requirements.txt").write_text(requirements)
        compile_bytecode(bundle)
        bundles.append(bundle)
    return bundles


def compile_bytecode(folder: Path) -> None:
    """Bytecode beside the sources, so a new instance imports without compiling siyu (the
    runtime's Python 3.11 reads it; another version ignores it). Checked against the
    source's hash, not its mtime, which zipping and unpacking do not keep."""
    ok = compileall.compile_dir(
        folder,
        quiet=1,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )
    if not ok:
        raise RuntimeError(f"{folder} does not compile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="e.g. build/functions")
    args = parser.parse_args()
    for bundle in build(args.out.resolve()):
        files = sum(1 for p in bundle.rglob("*") if p.is_file())
        print(
            f"{bundle.relative_to(Path.cwd()) if bundle.is_relative_to(Path.cwd()) else bundle}: "
            f"{files} files"
        )


if __name__ == "__main__":
    main()
