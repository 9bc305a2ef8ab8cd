"""What a bank customer's facts earn at a moment: one recomputation for business events, the
daily re-layering job and rule backfills alike."""

from __future__ import annotations

from datetime import datetime

from siyu.domain import bank_customers as bc
from siyu.domain.bank_customers import BankCustomer
from siyu.domain.layering import LayeringConfig
from siyu.domain.tag_rules import RuleSet
from siyu.services.tag_catalog import TagCatalog
from siyu.services.tag_rules import TagRuleSet


class CustomerLayering:
    def __init__(self, rules: TagRuleSet, catalog: TagCatalog, cfg: LayeringConfig) -> None:
        self._rules = rules
        self._catalog = catalog
        self._cfg = cfg

    def recompute(
        self, customer: BankCustomer, now: datetime, rules: RuleSet | None = None
    ) -> BankCustomer:
        """Stage, segment, earned tags and next_relayer_at as of `now`; `rules` defaults to
        the instance's cached rule set."""
        ruleset = rules if rules is not None else self._rules.rules()
        return bc.reevaluate(customer, now, self._cfg, ruleset, self._catalog.ids)

    def preview(self, customer: BankCustomer, now: datetime, rules: RuleSet) -> BankCustomer:
        """The same without asking WeCom for tag ids (layer tags come back without ids)."""
        return bc.reevaluate(customer, now, self._cfg, rules, lambda refs: ["" for _ in refs])


def tags_changed(before: BankCustomer, after: BankCustomer) -> bool:
    """Whether WeCom must hear of it: the earned tag set differs."""
    return {t.id for t in before.earned_tags} != {t.id for t in after.earned_tags}
