"""Channel codes: ops name tags by group and name; siyu makes sure WeCom has them."""

from __future__ import annotations

from siyu.domain.channels import STATE_PATTERN, Channel, ChannelSpec, is_valid_state
from siyu.domain.errors import InvalidInput
from siyu.ports import ChannelRepo
from siyu.services.tag_catalog import TagCatalog


class ChannelService:
    def __init__(self, catalog: TagCatalog, channels: ChannelRepo) -> None:
        self._catalog = catalog
        self._channels = channels

    def put(self, state: str, spec: ChannelSpec) -> Channel:
        """Create or replace the channel; missing corp tags are created in WeCom first,
        once the whole request is known to be valid (a refused one changes nothing)."""
        if not is_valid_state(state):
            raise InvalidInput("state", f"must match {STATE_PATTERN} (WeCom: ≤ 30 characters)")
        tag_ids = self._catalog.ids(spec.tags) if spec.tags else []
        channel = Channel(state=state, tag_ids=tag_ids, **spec.model_dump())
        self._channels.put(channel)
        return channel
