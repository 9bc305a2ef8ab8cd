"""Tag rules as ops manage them: validated, their corp tags ensured, compiled once per instance."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from siyu.domain.tag_rules import RuleSet, TagRule, TagRuleSpec
from siyu.ports import Clock, TagRuleRepo
from siyu.services.tag_catalog import TagCatalog


class TagRuleSet:
    def __init__(
        self, repo: TagRuleRepo, catalog: TagCatalog, clock: Clock, refresh_s: float
    ) -> None:
        self._repo = repo
        self._catalog = catalog
        self._clock = clock
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._cached: tuple[float, RuleSet] | None = None

    def put(self, rule_id: str, spec: TagRuleSpec) -> TagRule:
        """Save a rule; its tag is created in WeCom if missing, so a sync never fails on it."""
        [tag_id] = self._catalog.ids([spec.tag])
        rule = TagRule(id=rule_id, tag_id=tag_id, **spec.model_dump(by_alias=True))
        self._repo.put(rule)
        with self._lock:
            self._cached = None
        return rule

    def get(self, rule_id: str) -> TagRule | None:
        return self._repo.get(rule_id)

    def rules(self) -> RuleSet:
        """The enabled rules, re-read at most every `refresh_s` seconds."""
        now = self._clock.monotonic()
        with self._lock:
            if self._cached and now - self._cached[0] < self._refresh_s:
                return self._cached[1]
        ruleset = RuleSet(self._repo.all())
        with self._lock:
            self._cached = (now, ruleset)
        return ruleset


def load_seed(path: Path) -> list[tuple[str, TagRuleSpec]]:
    """The repo's seed file: a JSON list of {"id": ..., <TagRuleSpec fields>}."""
    entries = json.loads(path.read_text())
    return [(e.pop("id"), TagRuleSpec.model_validate(e)) for e in entries]
