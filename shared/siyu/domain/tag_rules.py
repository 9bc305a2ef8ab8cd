"""Tag rules as data: a small declarative language from customer facts to corp tags.

A rule is `{"id", "tag": {"group", "name"}, "when": <condition>}` where a condition is
`{"all": [...]}`, `{"any": [...]}`, `{"not": <condition>}` or a test
`{"field": "aggregates.total_amount", "op": ">=", "value": 10000}`. Fields are the
customer's facts (profile, purchase aggregates, lifecycle stage, RFM segment, abandoned
journeys) and questionnaire answers as `answers.<questionnaire_id>.<question>`.
Rules are validated when saved; an error names its path (e.g. `when.all.1.op`).

Two facts move with time alone: `aggregates.days_since_last_purchase` and
`profile.birthday_this_month`. A RuleSet knows the moments a rule over them can flip, so the
daily re-layering job wakes only the customers due (see bank_customers.next_change).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from siyu.domain.model import Model
from siyu.domain.tags import TagRef

Facts = dict[str, Any]
Op = Literal["==", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "exists"]

# Every fact a rule may test, and whether it is a number, a text or a list of texts.
FIELDS: dict[str, str] = {
    "profile.age": "number",
    "profile.aum_band": "text",
    "profile.birthday_month": "number",
    "profile.birthday_this_month": "flag",
    "aggregates.purchase_count": "number",
    "aggregates.total_amount": "number",
    "aggregates.days_since_last_purchase": "number",
    "aggregates.products": "list",
    "stage": "text",
    "segment": "text",
    "journeys_abandoned": "list",
}
DAYS_SINCE_PURCHASE = "aggregates.days_since_last_purchase"
BIRTHDAY_THIS_MONTH = "profile.birthday_this_month"
ANSWER_FIELD = re.compile(r"^answers\.[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{1,40}$")
_ORDERED = {">", ">=", "<", "<="}


class Test(Model):
    model_config = ConfigDict(extra="forbid")

    field: str
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _fits(self) -> Test:
        kind = FIELDS.get(self.field) or ("answer" if ANSWER_FIELD.match(self.field) else None)
        if kind is None:
            raise ValueError(
                f"unknown field {self.field!r}; use one of {sorted(FIELDS)} or "
                "answers.<questionnaire_id>.<question>"
            )
        if self.op == "exists":
            return self
        if self.value is None:
            raise ValueError(f"op {self.op!r} needs a value")
        if kind == "flag" and not (self.op in {"==", "!="} and isinstance(self.value, bool)):
            raise ValueError(f"{self.field} is true or false: use == or != with a boolean")
        if self.op in {"in", "not_in"} and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value")
        if self.op in _ORDERED and (
            kind not in {"number", "answer"}
            or isinstance(self.value, bool)
            or not isinstance(self.value, int | float)
        ):
            raise ValueError(f"op {self.op!r} compares numbers; {self.field} is a {kind}")
        if self.op == "contains" and kind not in {"list", "answer"}:
            raise ValueError(f"op 'contains' needs a list field; {self.field} is a {kind}")
        return self


class All(Model):
    model_config = ConfigDict(extra="forbid")
    all: list[Condition] = Field(min_length=1, max_length=50)


class AnyOf(Model):
    model_config = ConfigDict(extra="forbid")
    any: list[Condition] = Field(min_length=1, max_length=50)


class Not(Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    not_: Condition = Field(alias="not")


def _kind(value: Any) -> str:
    """Which condition a JSON object (or an already built model) is, by its key."""
    if isinstance(value, dict):
        return next((f"<{key}>" for key in ("all", "any", "not") if key in value), "<test>")
    kinds: dict[type, str] = {All: "<all>", AnyOf: "<any>", Not: "<not>"}
    return kinds.get(type(value), "<test>")


Condition = Annotated[
    Annotated[Test, Tag("<test>")]
    | Annotated[All, Tag("<all>")]
    | Annotated[AnyOf, Tag("<any>")]
    | Annotated[Not, Tag("<not>")],
    Discriminator(_kind),
]
All.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()


MAX_CONDITION_DEPTH = 8


class TagRuleSpec(Model):
    """PUT /ops/tag-rules/{id}."""

    model_config = ConfigDict(extra="forbid")

    tag: TagRef
    when: Condition
    description: str = Field("", max_length=200)
    enabled: bool = True

    @field_validator("when")
    @classmethod
    def _shallow(cls, when: Test | All | AnyOf | Not) -> Test | All | AnyOf | Not:
        if _depth(when) > MAX_CONDITION_DEPTH:
            raise ValueError(f"conditions nest at most {MAX_CONDITION_DEPTH} levels")
        return when


class TagRule(TagRuleSpec):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    tag_id: str = ""  # the corp tag in WeCom, created when the rule is saved


Predicate = Callable[[Facts], bool]


def _depth(condition: Test | All | AnyOf | Not) -> int:
    if isinstance(condition, All | AnyOf):
        parts = condition.all if isinstance(condition, All) else condition.any
        return 1 + max(_depth(c) for c in parts)
    if isinstance(condition, Not):
        return 1 + _depth(condition.not_)
    return 1


def compile_condition(condition: Test | All | AnyOf | Not) -> Predicate:
    """Turn a validated condition into a closure: evaluated per customer, parsed once."""
    if isinstance(condition, All):
        parts = [compile_condition(c) for c in condition.all]
        return lambda facts: all(p(facts) for p in parts)
    if isinstance(condition, AnyOf):
        options = [compile_condition(c) for c in condition.any]
        return lambda facts: any(p(facts) for p in options)
    if isinstance(condition, Not):
        inner = compile_condition(condition.not_)
        return lambda facts: not inner(facts)
    return _compile_test(condition)


def _compile_test(test: Test) -> Predicate:
    field, value = test.field, test.value
    tests: dict[str, Callable[[Any], bool]] = {
        "exists": lambda v: v is not None,
        "==": lambda v: v == value,
        "!=": lambda v: v != value,
        ">": lambda v: _number(v) is not None and _number(v) > value,  # type: ignore[operator]
        ">=": lambda v: _number(v) is not None and _number(v) >= value,  # type: ignore[operator]
        "<": lambda v: _number(v) is not None and _number(v) < value,  # type: ignore[operator]
        "<=": lambda v: _number(v) is not None and _number(v) <= value,  # type: ignore[operator]
        "in": lambda v: v in value if not isinstance(v, list) else bool(set(v) & set(value)),
        "not_in": lambda v: (
            v is not None
            and (v not in value if not isinstance(v, list) else not set(v) & set(value))
        ),
        "contains": lambda v: isinstance(v, list) and value in v,
    }
    check = tests[test.op]
    if test.op in {"exists", "!="}:
        return lambda facts: check(facts.get(field))
    return lambda facts: (v := facts.get(field)) is not None and check(v)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def tests_of(condition: Test | All | AnyOf | Not) -> Iterator[Test]:
    """Every test inside a condition."""
    if isinstance(condition, All | AnyOf):
        for part in condition.all if isinstance(condition, All) else condition.any:
            yield from tests_of(part)
    elif isinstance(condition, Not):
        yield from tests_of(condition.not_)
    else:
        yield condition


def day_thresholds(rules: list[TagRule]) -> list[int]:
    """The day counts at which a test of days_since_last_purchase can change its answer.

    The fact is whole days, so a test of value v can only flip when the count reaches
    floor(v), floor(v) + 1 or ceil(v): a superset, which at worst wakes a customer whose
    tags then stay as they were."""
    found: set[int] = set()
    for rule in rules:
        for test in tests_of(rule.when):
            if test.field != DAYS_SINCE_PURCHASE:
                continue
            values = test.value if isinstance(test.value, list) else [test.value]
            for v in values:
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                    found |= {math.floor(v), math.floor(v) + 1, math.ceil(v)}
    return sorted(k for k in found if k > 0)


class RuleSet:
    """Enabled rules, compiled; `tags_for` answers which rule tags a customer's facts earn."""

    def __init__(self, rules: list[TagRule]) -> None:
        self.rules = [r for r in rules if r.enabled]
        self._compiled = [(r, compile_condition(r.when)) for r in self.rules]
        self.day_thresholds = day_thresholds(self.rules)
        self.uses_birthday_month = any(
            t.field == BIRTHDAY_THIS_MONTH for r in self.rules for t in tests_of(r.when)
        )

    def tags_for(self, facts: Facts) -> list[TagRule]:
        return [rule for rule, predicate in self._compiled if predicate(facts)]

    def replacing(self, rule: TagRule) -> RuleSet:
        """These rules with `rule` in place of the one of its id (a draft under preview)."""
        return RuleSet([*(r for r in self.rules if r.id != rule.id), rule])
