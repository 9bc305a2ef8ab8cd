"""The content upkeep job: what WeCom holds for siyu, kept valid and in step over time.

Media ids expire after three days (90253); a group welcome's benefit list changes when a
campaign ends without anyone touching it; a group code may have missed a group's event.
"""

from __future__ import annotations

from datetime import timedelta

from siyu.ports import Clock
from siyu.services.group_codes import GroupCodes
from siyu.services.group_welcome import GroupWelcomes
from siyu.services.media import MediaLibrary
from siyu.services.ticks import Tick


class ContentUpkeep:
    def __init__(
        self,
        media: MediaLibrary,
        welcomes: GroupWelcomes,
        codes: GroupCodes,
        clock: Clock,
        horizon: timedelta,
        allow_as_of: bool,
    ) -> None:
        self._media = media
        self._welcomes = welcomes
        self._codes = codes
        self._clock = clock
        self._horizon = horizon
        self._allow_as_of = allow_as_of

    def tick(self, tick: Tick) -> dict[str, int]:
        """Each part is idempotent: a redelivered tick finds nothing left to do."""
        now = tick.now(self._clock.now(), self._allow_as_of)
        return {
            "media_uploaded": self._media.refresh(now, self._horizon),
            "welcomes_edited": self._welcomes.sync_all(),
            "codes_moved": self._codes.settle_all(),
        }
