"""infra/api/openapi.yaml is generated from the Routes' pydantic models and stays in step."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate
from pydantic import BaseModel

from siyu.devstack import openapi
from siyu.devstack.registry import ROOT


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi.document()


def test_the_committed_document_is_what_the_code_generates() -> None:
    assert openapi.main(["--check"]) == 0, "run `make openapi` and commit the result"


def test_a_stale_document_is_caught(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.yaml"
    stale.write_text(openapi.DOCUMENT.read_text().replace("deadline: 5.0", "deadline: 50.0"))
    assert openapi.main(["--check", "--path", str(stale)]) == 1
    assert openapi.main(["--path", str(stale)]) == 0
    assert openapi.main(["--check", "--path", str(stale)]) == 0


def test_the_document_is_valid_openapi_2(doc: dict[str, Any]) -> None:
    validate(yaml.safe_load(openapi.render().split("\n", 3)[3]))
    assert doc["swagger"] == "2.0"


def test_every_json_body_and_answer_names_its_route_model(doc: dict[str, Any]) -> None:
    for (method, path), (_fn, route, _signed) in openapi.routes().items():
        if route is None:
            continue
        operation = doc["paths"][path][method.lower()]
        body = [p for p in operation["parameters"] if p["in"] == "body"]
        if route.body:
            assert body[0]["schema"] == {"$ref": f"#/definitions/{route.body.__name__}"}
        else:
            assert body == [], f"{method} {path} takes no body"
        answer = operation["responses"][str(route.status)]["schema"]
        ref = answer.get("items", answer)["$ref"].rsplit("/", 1)[-1]
        assert ref in doc["definitions"]


def test_a_models_fields_reach_its_definition(doc: dict[str, Any]) -> None:
    spec = doc["definitions"]["GroupSpec"]
    assert {"name", "lat", "lng"} <= set(spec["properties"])
    assert set(spec["required"]) >= {"name", "lat", "lng"}
    alert = doc["definitions"]["CardAlert"]["properties"]
    assert alert, "the card alert's fields are documented"


def test_a_changed_model_changes_the_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break a copy: the card alert answering another model renders differently."""

    class Renamed(BaseModel):
        something_else: int

    table = openapi.routes()
    fn, route, signed = table[("POST", "/card-alert")]
    assert route is not None and signed
    table[("POST", "/card-alert")] = openapi.Operation(fn, replace(route, returns=Renamed), signed)
    monkeypatch.setattr(openapi, "routes", lambda: table)
    text = openapi.render()
    assert "something_else" in text and "CardAlertAnswer" not in text


def test_query_models_become_query_parameters(doc: dict[str, Any]) -> None:
    params = {p["name"]: p for p in doc["paths"]["/ops/reports/funnel"]["get"]["parameters"]}
    assert params["from"]["required"] and params["from"]["format"] == "date"
    assert params["by"]["enum"] == ["channel", "staff", "city", "branch"]
    assert params["format"]["required"] is False


def test_partner_routes_document_the_signature_headers(doc: dict[str, Any]) -> None:
    for path in ("/card-alert", "/events"):
        names = {p["name"] for p in doc["paths"][path]["post"]["parameters"]}
        assert {"X-Siyu-Key-Id", "X-Siyu-Timestamp", "X-Siyu-Signature"} <= names


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": "string", "x-nullable": True}),
        (
            {"anyOf": [{"$ref": "#/definitions/A"}, {"type": "null"}]},
            {"allOf": [{"$ref": "#/definitions/A"}], "x-nullable": True},
        ),
        ({"const": "purchase"}, {"enum": ["purchase"]}),
        ({"exclusiveMinimum": 0}, {"minimum": 0, "exclusiveMinimum": True}),
        ({"type": "array"}, {"type": "array", "items": {}}),
        (
            {"$ref": "#/definitions/A", "description": "d"},
            {"allOf": [{"$ref": "#/definitions/A"}], "description": "d"},
        ),
        ({"default": None, "type": "string"}, {"type": "string"}),
    ],
)
def test_json_schema_is_translated_to_openapi_2(schema: Any, expected: Any) -> None:
    assert openapi.to_swagger(schema) == expected


def test_terraform_template_sequences_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """templatefile() would expand a stray ${...} in a description: rendering refuses it."""
    monkeypatch.setitem(openapi._WECOM_OPERATIONS["get"], "summary", "costs ${price}")
    with pytest.raises(ValueError, match="template sequences"):
        openapi.render()


def test_the_document_lives_where_terraform_reads_it() -> None:
    assert openapi.DOCUMENT == ROOT / "infra/api/openapi.yaml"
    assert "api/openapi.yaml" in (ROOT / "infra/api.tf").read_text()


def test_signed_operations_are_the_ones_whose_router_checks_partner_signatures() -> None:
    signed = {path for (_m, path), op in openapi.routes().items() if op.signed}
    assert signed == {"/card-alert", "/events"}
