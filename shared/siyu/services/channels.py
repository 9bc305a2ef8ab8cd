"""Channel codes: ops name tags by group and name; siyu makes sure WeCom has them."""

from __future__ import annotations

from siyu.domain.channels import Channel, ChannelSpec
from siyu.domain.tags import CorpTag, TagRef
from siyu.ports import ChannelRepo, TagRepo, WeComApi


class ChannelService:
    def __init__(self, wecom: WeComApi, channels: ChannelRepo, tags: TagRepo) -> None:
        self._wecom = wecom
        self._channels = channels
        self._tags = tags

    def put(self, state: str, spec: ChannelSpec) -> Channel:
        """Create or replace the channel; missing corp tags are created in WeCom first."""
        tag_ids = self.ensure_tags(spec.tags)
        channel = Channel(state=state, tag_ids=tag_ids, **spec.model_dump())
        self._channels.put(channel)
        return channel

    def ensure_tags(self, refs: list[TagRef]) -> list[str]:
        if not refs:
            return []
        catalogue = self._wecom.get_corp_tag_list()
        by_name = {(t.group_name, t.name): t for t in catalogue}
        missing: dict[str, list[str]] = {}
        for ref in refs:
            if (ref.group, ref.name) not in by_name:
                missing.setdefault(ref.group, []).append(ref.name)
        created: list[CorpTag] = []
        for group, names in missing.items():
            created += self._wecom.add_corp_tag(group, sorted(set(names)))
        # WeCom sends no callback for our own add_corp_tag: mirror it ourselves.
        self._tags.put_many(catalogue + created)
        by_name.update({(t.group_name, t.name): t for t in created})
        return [by_name[(ref.group, ref.name)].id for ref in refs]
