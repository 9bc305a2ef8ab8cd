"""Tag rules as ops manage them: validated, their corp tags ensured, compiled once per instance,
and every change carried to existing customers by a backfill."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from siyu.domain.backfills import Backfill, BackfillStatus, BackfillView
from siyu.domain.errors import NotFound
from siyu.domain.model import Model
from siyu.domain.tag_rules import RuleSet, TagRule, TagRuleSpec
from siyu.domain.tags import TagRef
from siyu.ports import BackfillRepo, Clock, MessagePublisher, TagRuleRepo
from siyu.services.cached import Cached
from siyu.services.tag_catalog import TagCatalog


class BackfillKick(Model):
    """Published on the backfill topic so a new backfill starts now, not at the next tick."""

    rule_id: str


class TagRuleSet:
    def __init__(
        self,
        repo: TagRuleRepo,
        catalog: TagCatalog,
        backfills: BackfillRepo,
        kick: MessagePublisher,
        clock: Clock,
        refresh_s: float,
    ) -> None:
        self._repo = repo
        self._catalog = catalog
        self._backfills = backfills
        self._kick = kick
        self._clock = clock
        self._cached = Cached(self.fresh, clock, refresh_s)

    def put(self, rule_id: str, spec: TagRuleSpec) -> TagRule:
        """Save a rule (its tag is created in WeCom if missing, so a sync never fails on it)
        and start carrying it to every existing customer."""
        [tag_id] = self._catalog.ids([spec.tag])
        rule = TagRule(id=rule_id, tag_id=tag_id, **spec.model_dump(by_alias=True))
        before = self._repo.get(rule_id)
        self._repo.put(rule)
        moved = [spec.tag] + ([before.tag] if before and before.tag != spec.tag else [])
        self._changed(rule_id, moved)
        return rule

    def delete(self, rule_id: str) -> BackfillView:
        """Remove a rule; the backfill takes its tag off the customers who held it."""
        before = self._repo.get(rule_id)
        if before is None or not self._repo.delete(rule_id):
            raise NotFound(f"tag rule {rule_id}")
        return self._changed(rule_id, [before.tag])

    def get(self, rule_id: str) -> TagRule | None:
        return self._repo.get(rule_id)

    def rules(self) -> RuleSet:
        """The enabled rules, re-read at most every `refresh_s` seconds."""
        return self._cached.get()

    def fresh(self) -> RuleSet:
        """The enabled rules as stored now (a backfill must see the rule just saved)."""
        return RuleSet(self._repo.all())

    def backfill(self, rule_id: str) -> BackfillView:
        found = self._backfills.get(rule_id)
        if found is None:
            raise NotFound(f"backfill of tag rule {rule_id}")
        return found.view()

    def _changed(self, rule_id: str, tags: list[TagRef]) -> BackfillView:
        self._cached.forget()
        now = self._clock.now()
        started = Backfill(
            rule_id=rule_id,
            generation=uuid.uuid4().hex,
            tags=tags,
            status=BackfillStatus.RUNNING,
            started_at=now,
            advanced_at=now,
        )
        self._backfills.start(started)
        self._kick.send(BackfillKick(rule_id=rule_id))
        return started.view()


def load_seed(path: Path) -> list[tuple[str, TagRuleSpec]]:
    """The repo's seed file: a JSON list of {"id": ..., <TagRuleSpec fields>}."""
    entries = json.loads(path.read_text())
    return [(e.pop("id"), TagRuleSpec.model_validate(e)) for e in entries]
