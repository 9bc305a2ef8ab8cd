"""The tag rule language: validation names the path of an error; evaluation is exact."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from siyu.adapters.http import validation_error
from siyu.devstack.registry import ROOT
from siyu.domain.tag_rules import FIELDS, RuleSet, TagRule, TagRuleSpec, compile_condition
from siyu.services.tag_rules import load_seed


def spec(when: Any) -> TagRuleSpec:
    return TagRuleSpec.model_validate({"tag": {"group": "兴趣", "name": "基金"}, "when": when})


def error_path(when: Any) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught:
        spec(when)
    error = validation_error(caught.value)
    return error.field, str(error)


def holds(when: Any, facts: dict[str, Any]) -> bool:
    return compile_condition(spec(when).when)(facts)


@pytest.mark.parametrize(
    ("when", "path", "says"),
    [
        ({"field": "profile.shoe_size", "op": "==", "value": 1}, "when", "unknown field"),
        ({"field": "profile.age", "op": "~=", "value": 1}, "when.op", "Input should be"),
        ({"field": "profile.age", "op": ">="}, "when", "needs a value"),
        ({"field": "stage", "op": ">", "value": 3}, "when", "compares numbers"),
        ({"field": "profile.age", "op": ">", "value": "30"}, "when", "compares numbers"),
        ({"field": "profile.age", "op": "in", "value": 3}, "when", "needs a list"),
        ({"field": "profile.age", "op": "contains", "value": 3}, "when", "needs a list field"),
        (
            {"all": [{"field": "stage", "op": "==", "value": "vip"}, {"field": "x", "op": "=="}]},
            "when.all.1",
            "unknown field",
        ),
        ({"any": []}, "when.any", "at least 1"),
        ({"not": {"any": [{"field": "stage", "op": "?"}]}}, "when.not.any.0.op", "Input should"),
        ({"field": "stage", "op": "==", "value": "vip", "extra": 1}, "when.extra", "Extra"),
    ],
)
def test_an_invalid_rule_names_the_path_of_its_error(when: Any, path: str, says: str) -> None:
    found, message = error_path(when)
    assert found == path and says in message


def test_a_rule_id_must_be_a_plain_name() -> None:
    with pytest.raises(ValidationError):
        TagRule(id="a/b", **spec({"field": "stage", "op": "exists"}).model_dump(by_alias=True))


def t(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


AGE, BAND, PRODUCTS = "profile.age", "profile.aum_band", "aggregates.products"


@pytest.mark.parametrize(
    ("when", "facts", "expected"),
    [
        (t(AGE, ">=", 60), {AGE: 60}, True),
        (t(AGE, ">=", 60), {AGE: 59}, False),
        (t(AGE, ">=", 60), {AGE: None}, False),
        (t(AGE, "<", 30), {}, False),
        (t("stage", "!=", "vip"), {"stage": "new"}, True),
        (t("segment", "exists"), {"segment": None}, False),
        (t(BAND, "in", ["a", "b"]), {BAND: "b"}, True),
        (t(BAND, "not_in", ["a"]), {BAND: None}, False),
        (t(PRODUCTS, "contains", "fund"), {PRODUCTS: ["fund"]}, True),
        (t(PRODUCTS, "in", ["x", "fund"]), {PRODUCTS: ["fund"]}, True),
        (t("answers.risk.q1", ">=", 3), {"answers.risk.q1": "4"}, True),
        (t("answers.risk.q1", ">=", 3), {"answers.risk.q1": "很高"}, False),
        (t("answers.i.topics", "contains", "基金"), {"answers.i.topics": ["基金", "保险"]}, True),
        (
            {"all": [t(AGE, ">=", 18), {"not": t("stage", "==", "vip")}]},
            {AGE: 20, "stage": "new"},
            True,
        ),
        (
            {"any": [t(AGE, ">=", 60), t("stage", "==", "vip")]},
            {AGE: 20, "stage": "new"},
            False,
        ),
    ],
)
def test_conditions_evaluate_exactly(when: Any, facts: dict[str, Any], expected: bool) -> None:
    assert holds(when, facts) is expected


def test_a_ruleset_skips_disabled_rules_and_lists_what_a_customer_earns() -> None:
    def rule(rule_id: str, enabled: bool = True) -> TagRule:
        base = spec({"field": "profile.age", "op": ">=", "value": 60}).model_dump(by_alias=True)
        return TagRule(id=rule_id, tag_id=f"t-{rule_id}", **{**base, "enabled": enabled})

    ruleset = RuleSet([rule("on"), rule("off", enabled=False)])
    assert [r.id for r in ruleset.tags_for({"profile.age": 61})] == ["on"]
    assert ruleset.tags_for({"profile.age": 30}) == []


def test_the_seed_file_is_valid_and_uses_only_known_facts() -> None:
    seeded = load_seed(ROOT / "data" / "tag_rules.json")
    assert len(seeded) == len(json.loads((ROOT / "data" / "tag_rules.json").read_text()))
    assert len({rule_id for rule_id, _ in seeded}) == len(seeded)
    for rule_id, rule in seeded:
        TagRule(id=rule_id, **rule.model_dump(by_alias=True))  # ids are valid too
    fields = json.dumps([r.model_dump(by_alias=True) for _, r in seeded])
    assert any(name in fields for name in FIELDS) and "answers." in fields
