"""Keeps the group directory's snapshot current: every few minutes, the last snapshot plus
the groups written since its watermark become the next one (no full scan after the first)."""

from __future__ import annotations

import logging
import secrets

from siyu.domain.group_directory import Manifest, merged, pack, unpack
from siyu.logging import log
from siyu.ports import Clock, GroupDirectoryStore, GroupRepo
from siyu.services.ticks import Tick

logger = logging.getLogger(__name__)


class GroupDirectory:
    def __init__(self, store: GroupDirectoryStore, groups: GroupRepo, clock: Clock) -> None:
        self._store = store
        self._groups = groups
        self._clock = clock

    def tick(self, tick: Tick) -> dict[str, int]:
        """Write the next snapshot when a group changed since the last one."""
        current = self._store.manifest()
        held = unpack(self._store.parts(current)) if current else []
        changed, watermark = self._groups.changed_since(current.watermark if current else None)
        if current is not None and not changed:
            return {"groups": current.groups, "changed": 0}
        groups = merged(held, changed)
        parts = pack(groups)
        manifest = Manifest(
            version=f"{self._clock.now():%Y%m%dT%H%M%S}-{secrets.token_hex(3)}",
            parts=len(parts),
            groups=len(groups),
            watermark=watermark,
            built_at=self._clock.now(),
        )
        self._store.publish(manifest, parts, current)
        log(logger, logging.INFO, "group directory written", groups=len(groups), parts=len(parts))
        return {"groups": len(groups), "changed": len(changed)}
