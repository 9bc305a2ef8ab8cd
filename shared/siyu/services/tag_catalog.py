"""Corp tags named by group and name: siyu makes sure WeCom has them and knows their ids."""

from __future__ import annotations

import threading

from siyu.domain.tags import CorpTag, TagRef
from siyu.ports import TagRepo, WeComApi


class TagCatalog:
    """Resolves TagRefs to corp tag ids, creating missing tags in WeCom.

    Ids already resolved are remembered by this instance, so events that earn the same
    stage or segment tags cost no WeCom call after the first.
    """

    def __init__(self, wecom: WeComApi, tags: TagRepo) -> None:
        self._wecom = wecom
        self._tags = tags
        self._known: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def ids(self, refs: list[TagRef]) -> list[str]:
        wanted = [(r.group, r.name) for r in refs]
        with self._lock:
            if all(key in self._known for key in wanted):
                return [self._known[key] for key in wanted]
        catalogue = self._wecom.get_corp_tag_list()
        by_name = {(t.group_name, t.name): t for t in catalogue if not t.deleted}
        missing: dict[str, list[str]] = {}
        for group, name in wanted:
            if (group, name) not in by_name:
                missing.setdefault(group, []).append(name)
        created: list[CorpTag] = []
        for group, names in missing.items():
            created += self._wecom.add_corp_tag(group, sorted(set(names)))
        # WeCom sends no callback for our own add_corp_tag: mirror it ourselves.
        self._tags.put_many(catalogue + created)
        by_name.update({(t.group_name, t.name): t for t in created})
        with self._lock:
            self._known.update({key: tag.id for key, tag in by_name.items()})
            return [self._known[key] for key in wanted]

    def forget(self) -> None:
        """After a change_external_tag callback: the next lookup reads WeCom again."""
        with self._lock:
            self._known.clear()
