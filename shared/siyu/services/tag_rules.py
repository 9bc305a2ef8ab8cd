"""Tag rules as ops manage them: validated, their corp tags ensured, compiled once per instance."""

from __future__ import annotations

import json
from pathlib import Path

from siyu.domain.tag_rules import RuleSet, TagRule, TagRuleSpec
from siyu.ports import Clock, TagRuleRepo
from siyu.services.cached import Cached
from siyu.services.tag_catalog import TagCatalog


class TagRuleSet:
    def __init__(
        self, repo: TagRuleRepo, catalog: TagCatalog, clock: Clock, refresh_s: float
    ) -> None:
        self._repo = repo
        self._catalog = catalog
        self._cached = Cached(lambda: RuleSet(self._repo.all()), clock, refresh_s)

    def put(self, rule_id: str, spec: TagRuleSpec) -> TagRule:
        """Save a rule; its tag is created in WeCom if missing, so a sync never fails on it."""
        [tag_id] = self._catalog.ids([spec.tag])
        rule = TagRule(id=rule_id, tag_id=tag_id, **spec.model_dump(by_alias=True))
        self._repo.put(rule)
        self._cached.forget()
        return rule

    def get(self, rule_id: str) -> TagRule | None:
        return self._repo.get(rule_id)

    def rules(self) -> RuleSet:
        """The enabled rules, re-read at most every `refresh_s` seconds."""
        return self._cached.get()


def load_seed(path: Path) -> list[tuple[str, TagRuleSpec]]:
    """The repo's seed file: a JSON list of {"id": ..., <TagRuleSpec fields>}."""
    entries = json.loads(path.read_text())
    return [(e.pop("id"), TagRuleSpec.model_validate(e)) for e in entries]
