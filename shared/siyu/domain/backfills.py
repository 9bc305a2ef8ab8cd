"""A saved tag rule reaching every existing customer: the backfill's progress, and the dry run
that answers who would gain or lose the tag before anything is saved."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict, Field

from siyu.domain.model import Model
from siyu.domain.tag_rules import TagRuleSpec
from siyu.domain.tags import TagRef


class BackfillStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"


class BackfillView(Model):
    """GET /ops/tag-rules/{id}/backfill."""

    rule_id: str
    status: BackfillStatus
    evaluated: int = 0  # bank customers read and re-evaluated
    changed: int = 0  # of which the earned tags changed (a tag sync was asked for)
    started_at: datetime
    finished_at: datetime | None = None


class Backfill(BackfillView):
    """`tag_rule_backfills/{rule_id}`: one per rule; saving the rule again starts a new
    generation and the old one stops at its next page."""

    generation: str
    # The tags the change moves: the rule's tag, and its former tag when it was renamed.
    tags: list[TagRef]
    cursor: str = ""  # the last bank customer id evaluated (pages go by document id)
    advanced_at: datetime
    # A run working on the next page holds it until then; a run that died frees it by time.
    leased_until: datetime | None = None

    def same_step(self, other: Backfill) -> bool:
        """The same generation at the same cursor, still running."""
        return (self.generation, self.cursor) == (
            other.generation,
            other.cursor,
        ) and self.status is BackfillStatus.RUNNING

    def free_at(self, now: datetime) -> bool:
        return self.leased_until is None or self.leased_until <= now

    def view(self) -> BackfillView:
        return BackfillView.model_validate(self.model_dump(include=set(BackfillView.model_fields)))


class TagRuleDraft(TagRuleSpec):
    """POST /ops/tag-rules:preview: a rule body; with `id`, it stands in for that rule."""

    id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class RulePreview(Model):
    """How many customers would gain and lose the draft's tag, with a sample of each."""

    model_config = ConfigDict(serialize_by_alias=True)

    evaluated: int
    complete: bool  # False when the scan stopped at its limit: the counts are a lower bound
    gain: int
    lose: int
    sample_gain: list[str] = Field(default_factory=list)  # bank customer ids
    sample_lose: list[str] = Field(default_factory=list)
