"""Per-instance index of benefit groups with room, kept current by reading only changes."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from siyu.domain.errors import TransientError
from siyu.domain.group_directory import unpack
from siyu.domain.groups import Group
from siyu.domain.spatial import NearestGrid
from siyu.logging import log
from siyu.ports import Clock, GroupDirectoryStore, GroupRepo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Match:
    group: Group
    distance_m: float
    in_range: bool  # False: the city fallback, beyond the distance limit


class NearbyGroupIndex:
    """Nearest group with room, answered from memory.

    The first lookup loads the group directory's snapshot (a few documents) and the groups
    written since it; later lookups at most every `refresh_s` seconds ask Firestore for the
    groups written since the last load. A request never scans groups.
    """

    def __init__(
        self,
        groups: GroupRepo,
        clock: Clock,
        join_limit: int,
        refresh_s: float,
        directory: GroupDirectoryStore | None = None,
    ) -> None:
        self._repo = groups
        self._directory = directory
        self._clock = clock
        self._limit = join_limit
        self._refresh_s = refresh_s
        self._lock = threading.Lock()  # guards the index
        self._fetching = threading.Lock()  # one refresh at a time
        self._groups: dict[str, Group] = {}
        self._near = NearestGrid()
        self._by_city: dict[str, NearestGrid] = {}
        self._watermark: Any = None
        self._loaded_at: float | None = None

    def refresh(self, force: bool = False) -> int:
        """Apply groups changed since the last load, if `refresh_s` has passed; returns how many.

        One thread fetches while the others keep answering from the current index; only the
        very first load (or a forced one) makes callers wait.
        """
        if not (force or self._due()):
            return 0
        if not self._fetching.acquire(blocking=force or self._loaded_at is None):
            return 0
        try:
            if not (force or self._due()):
                return 0  # another thread refreshed while this one waited
            started = self._clock.monotonic()
            held, since = self._snapshot() if self._loaded_at is None else ([], self._watermark)
            changed, watermark = self._repo.changed_since(since)
            changed = held + changed  # applied in order: what changed since wins
            with self._lock:
                for group in changed:
                    self._apply(group)
                self._watermark = watermark
                self._loaded_at = started
            return len(changed)
        finally:
            self._fetching.release()

    def _snapshot(self) -> tuple[list[Group], Any]:
        """The directory's groups and the watermark they are at; nothing when there is no
        snapshot or it was replaced while read (the change feed then loads every group)."""
        if self._directory is None:
            return [], None
        try:
            manifest = self._directory.manifest()
            if manifest is None:
                return [], None
            return unpack(self._directory.parts(manifest)), manifest.watermark
        except TransientError as exc:
            log(
                logger,
                logging.WARNING,
                "group directory unreadable; loading every group",
                error=str(exc),
            )
            return [], None

    def _due(self) -> bool:
        loaded = self._loaded_at
        return loaded is None or self._clock.monotonic() - loaded >= self._refresh_s

    def _apply(self, group: Group) -> None:
        previous = self._groups.get(group.chat_id)
        if previous is not None and previous.city in self._by_city:
            self._by_city[previous.city].remove(group.chat_id)
        self._groups[group.chat_id] = group
        if group.has_room(self._limit) and group.location is not None:
            self._near.put(group.chat_id, group.location.lat, group.location.lng)
            city = self._by_city.setdefault(group.city, NearestGrid(cell_deg=0.05))
            city.put(group.chat_id, group.location.lat, group.location.lng)
        else:
            self._near.remove(group.chat_id)

    def nearest_with_room(self, lat: float, lng: float, city: str, max_m: float) -> Match | None:
        """Within max_m; else the nearest with room in `city`; else None."""
        self.refresh()
        with self._lock:
            found = self._near.nearest(lat, lng, max_m)
            if found is not None:
                return Match(self._groups[found[0]], found[1], in_range=True)
            city_grid = self._by_city.get(city)
            found = city_grid.nearest(lat, lng) if city_grid is not None else None
            if found is not None:
                return Match(self._groups[found[0]], found[1], in_range=False)
            return None

    def with_room(self) -> int:
        return len(self._near)
