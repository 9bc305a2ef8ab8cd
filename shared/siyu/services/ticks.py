"""Cloud Scheduler's message to every scheduled function, and the one rule for `as_of`."""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ConfigDict

from siyu.domain.model import Model
from siyu.logging import log

logger = logging.getLogger(__name__)


class Tick(Model):
    """What a scheduler job publishes. Its content is ignored except `as_of`, with which the
    local stack plays time forward (`siyu tick --days`)."""

    model_config = ConfigDict(extra="allow")

    as_of: datetime | None = None

    def now(self, clock_now: datetime, allow_as_of: bool) -> datetime:
        """The moment the tick runs as: the clock's, or a later `as_of` where allowed.
        Time never runs backwards, and production (allow_as_of off) ignores `as_of`."""
        if self.as_of is None:
            return clock_now
        if not allow_as_of:
            log(logger, logging.WARNING, "as_of ignored: only the local stack plays time forward")
            return clock_now
        return max(clock_now, self.as_of)
