"""The personal-data inventory lists every collection an adapter writes, and that check can fail."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from siyu.devstack.registry import ROOT
from siyu.domain.personal_data import BY_COLLECTION, REGISTRY, Action, Key

ADAPTERS = Path("shared/siyu/adapters")


def adapter_collections(root: Path) -> dict[str, str]:
    """Every collection named in the adapters, by a literal `.collection("x")` call or a
    class attribute `collection = "x"`, with the file that names it."""
    found: dict[str, str] = {}
    for path in sorted((root / ADAPTERS).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            name = None
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "collection"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                name = node.args[0].value
            elif (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", "") for t in node.targets] == ["collection"]
                and isinstance(node.value, ast.Constant)
            ):
                name = node.value.value
            if isinstance(name, str):
                found.setdefault(name, str(path.relative_to(root)))
    return found


def unlisted(root: Path) -> list[str]:
    return [
        f"{name} (written in {where}) is not in siyu.domain.personal_data.REGISTRY"
        for name, where in sorted(adapter_collections(root).items())
        if name not in BY_COLLECTION
    ]


def test_every_collection_an_adapter_writes_is_in_the_inventory() -> None:
    assert unlisted(ROOT) == []
    # and the inventory lists nothing the code no longer writes
    assert set(BY_COLLECTION) - set(adapter_collections(ROOT)) == set()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / ADAPTERS, tmp_path / ADAPTERS)
    return tmp_path


def test_a_new_collection_missing_from_the_inventory_is_caught(broken: Path) -> None:
    (broken / ADAPTERS / "firestore" / "notes.py").write_text(
        "class NoteRepo:\n"
        "    def __init__(self, db):\n"
        '        self._col = db.collection("customer_notes")\n'
    )
    assert unlisted(broken) == [
        "customer_notes (written in shared/siyu/adapters/firestore/notes.py) "
        "is not in siyu.domain.personal_data.REGISTRY"
    ]


def test_personal_collections_say_how_to_find_a_person_and_what_is_sensitive() -> None:
    for holding in REGISTRY:
        assert holding.retention, holding.collection
        for locate in holding.locate:
            assert locate.key in set(Key)
    bank = BY_COLLECTION["bank_customers"]
    assert {"profile.aum_band", "aggregates", "answers"} <= set(bank.sensitive)
    # what erasure keeps: aggregates and shared documents are never deleted
    assert BY_COLLECTION["funnel_days"].locate == ()
    assert all(loc.action is Action.SCRUB for loc in BY_COLLECTION["transfers"].locate)


def test_the_documented_inventory_is_the_registry() -> None:
    text = (ROOT / "docs" / "personal-data.md").read_text()
    rows = {line.split("`")[1] for line in text.splitlines() if line.startswith("| `")}
    assert rows == set(BY_COLLECTION)
    for holding in REGISTRY:
        assert holding.retention in text, holding.collection
