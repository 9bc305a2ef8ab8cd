"""infra/**/*.tf against the hashicorp/google and google-beta 6.50.0 schemas (offline)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from siyu.devstack.registry import ROOT

from .provider_schema import Schemas, cached_schemas, schema_problems

WHEELS = ROOT / ".tfschema" / "wheels"  # `make infra-schema` downloads them here


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return cached_schemas(WHEELS, ROOT / ".tfschema" / "cache")


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "infra", tmp_path / "infra", ignore=shutil.ignore_patterns(".*"))
    return tmp_path


def edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / "infra" / relative
    text = path.read_text()
    assert old in text, f"{old!r} is not in {relative}"
    path.write_text(text.replace(old, new, 1))


def test_the_schemas_checked_are_the_providers_6_50(schemas: Schemas) -> None:
    assert schemas.version("google") == schemas.version("google-beta") == "6.50.0"


def test_infra_is_what_the_provider_schemas_accept(schemas: Schemas) -> None:
    assert schema_problems(ROOT, schemas) == []


def test_unknown_and_missing_arguments_are_caught(broken: Path, schemas: Schemas) -> None:
    edit(broken, "firestore.tf", 'name        = "(default)"', 'nmae        = "(default)"')
    found = schema_problems(broken, schemas)
    assert "infra: google_firestore_database.main: `nmae` is not an argument" in found
    assert "infra: google_firestore_database.main: required `name` is missing" in found


def test_a_wrong_nested_argument_and_attribute_are_caught(broken: Path, schemas: Schemas) -> None:
    edit(broken, "modules/function/main.tf", "available_memory", "available_memroy")
    edit(broken, "modules/function/outputs.tf", "service_config[0].uri", "service_config[0].urls")
    found = schema_problems(broken, schemas)
    where = "infra/modules/function: google_cloudfunctions2_function.fn"
    assert f"{where}.service_config[0]: `available_memroy` is not an argument" in found
    assert any("service_config[0].urls: `urls` is not an attribute" in p for p in found)


def test_a_read_only_attribute_set_and_an_unknown_type_are_caught(
    broken: Path, schemas: Schemas
) -> None:
    edit(
        broken,
        "firestore.tf",
        "  project     = var.project_id\n",
        '  project     = var.project_id\n  uid = "x"\n',
    )
    edit(broken, "kms.tf", 'resource "google_kms_crypto_key" ', 'resource "google_kms_cryptokey" ')
    found = schema_problems(broken, schemas)
    assert "infra: google_firestore_database.main: `uid` is a read-only attribute" in found
    assert any("google_kms_cryptokey.pubsub: no such resource in google" in p for p in found)


def test_module_inputs_must_match_its_variables(broken: Path, schemas: Schemas) -> None:
    edit(broken, "modules/topic/variables.tf", 'variable "kms_key_id"', 'variable "kms_key"')
    found = schema_problems(broken, schemas)
    assert any("passes `kms_key_id`, which ./modules/topic does not declare" in p for p in found)
    assert any("does not pass required `kms_key`" in p for p in found)
    assert any("var.kms_key_id is not a declared variable" in p for p in found)


def test_a_missing_module_output_is_caught(broken: Path, schemas: Schemas) -> None:
    edit(broken, "modules/function/outputs.tf", 'output "url"', 'output "uri"')
    found = schema_problems(broken, schemas)
    assert any("has no output `url`" in p for p in found)


def test_the_provider_constraint_pins_the_checked_schema(broken: Path, schemas: Schemas) -> None:
    edit(broken, "versions.tf", '"~> 6.50"', '"~> 6.10"')
    found = schema_problems(broken, schemas)
    assert "versions.tf: google is `~> 6.10`; the schema checked is ~> 6.50" in found
