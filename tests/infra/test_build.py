"""`make build`: every function gets a bundle that imports on its own, without the dev stack."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from siyu.devstack.build import build, pinned_requirements
from siyu.devstack.registry import FUNCTIONS


def test_each_function_has_a_self_contained_bundle(tmp_path: Path) -> None:
    bundles = {b.name: b for b in build(tmp_path)}
    assert set(bundles) == {fn.name for fn in FUNCTIONS}
    for name, bundle in bundles.items():
        assert (bundle / "main.py").read_text() == (
            next(f for f in FUNCTIONS if f.name == name).source.read_text()
        )
        assert not (bundle / "siyu" / "devstack").exists()
        assert not (bundle / "siyu" / "cli.py").exists()
        _assert_current_bytecode(bundle)
    # The bundle's own siyu is the one imported, and main.py finds its entry point.
    probe = (
        "import main, siyu, sys; "
        "assert siyu.__file__.startswith(sys.argv[1]), siyu.__file__; "
        "assert callable(getattr(main, sys.argv[2]))"
    )
    for name, bundle in bundles.items():
        result = subprocess.run(
            [
                sys.executable,
                "-I",
                "-c",
                f"import sys; sys.path.insert(0, '.'); {probe}",
                str(bundle),
                name,
            ],
            cwd=bundle,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, (name, result.stderr[-2000:])


def _assert_current_bytecode(bundle: Path) -> None:
    """Every source has bytecode checked by its hash (flags 0b11) and made from this very
    source; no bytecode without its source (a developer's stale cache)."""
    sources = sorted(bundle.rglob("*.py"))
    assert sources
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(source)))
        data = pyc.read_bytes()
        assert data[:4] == importlib.util.MAGIC_NUMBER, pyc
        assert int.from_bytes(data[4:8], "little") == 0b11, f"{pyc}: not checked-hash"
        assert data[8:16] == importlib.util.source_hash(source.read_bytes()), pyc
    for pyc in bundle.rglob("*.pyc"):
        name = pyc.name.split(".")[0] + ".py"
        assert (pyc.parent.parent / name).exists(), f"{pyc}: no source"


def test_requirements_pin_the_whole_runtime_closure() -> None:
    pins = pinned_requirements()
    names = {p.split("==")[0] for p in pins}
    assert all("==" in p for p in pins)
    # Direct dependencies and what they pull in, but no dev tools.
    assert {"functions-framework", "google-cloud-firestore", "pydantic", "flask"} <= names
    assert {"grpcio", "protobuf", "pydantic-core"} <= names
    assert not {"pytest", "ruff", "mypy", "checkov", "hypothesis"} & names
