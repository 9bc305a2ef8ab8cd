"""Corp tags named by group and name: siyu makes sure WeCom has them and knows their ids."""

from __future__ import annotations

import threading

from siyu.domain.tags import CorpTag, TagRef
from siyu.ports import Clock, TagRepo, WeComApi


class TagCatalog:
    """Resolves TagRefs to corp tag ids, creating missing tags in WeCom.

    Ids are remembered by this instance for `refresh_s` seconds, so events that earn the same
    stage or segment tags cost no WeCom call; after that the catalogue is read again, which
    is how a tag deleted in the admin console is noticed and recreated.
    """

    def __init__(self, wecom: WeComApi, tags: TagRepo, clock: Clock, refresh_s: float) -> None:
        self._wecom = wecom
        self._tags = tags
        self._clock = clock
        self._refresh_s = refresh_s
        self._known: dict[tuple[str, str], str] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()
        self._loading = threading.Lock()

    def ids(self, refs: list[TagRef]) -> list[str]:
        wanted = [(r.group, r.name) for r in refs]
        known = self._known_ids(wanted)
        if known is not None:
            return known
        # One reader at a time: threads of one instance (a backfill page's writers) that all
        # miss must not each read the catalogue and create the same tags.
        with self._loading:
            known = self._known_ids(wanted)
            if known is not None:
                return known
            return self._load(wanted)

    def _known_ids(self, wanted: list[tuple[str, str]]) -> list[str] | None:
        with self._lock:
            fresh = self._clock.monotonic() - self._read_at < self._refresh_s
            if fresh and all(key in self._known for key in wanted):
                return [self._known[key] for key in wanted]
        return None

    def _load(self, wanted: list[tuple[str, str]]) -> list[str]:
        read_at = self._clock.monotonic()
        catalogue = self._wecom.get_corp_tag_list()
        by_name = {(t.group_name, t.name): t for t in catalogue if not t.deleted}
        missing: dict[str, list[str]] = {}
        for group, name in wanted:
            if (group, name) not in by_name:
                missing.setdefault(group, []).append(name)
        created: list[CorpTag] = []
        for group, names in missing.items():
            created += self._wecom.add_corp_tag(group, sorted(set(names)))
        if created:
            # WeCom sends no callback for our own add_corp_tag: mirror it ourselves.
            self._tags.put_many(created)
        by_name.update({(t.group_name, t.name): t for t in created})
        with self._lock:
            self._known = {key: tag.id for key, tag in by_name.items()}
            self._read_at = read_at
        return [by_name[key].id for key in wanted]

    def refresh(self) -> set[str]:
        """After WeCom refused a tag id (deleted in the admin console): forget what this
        instance knew and return the ids WeCom holds now."""
        catalogue = self._wecom.get_corp_tag_list()
        with self._lock:
            self._known, self._read_at = {}, float("-inf")
        return {t.id for t in catalogue if not t.deleted}
