"""Channel codes: ops name tags by group and name, siyu makes sure WeCom has them, and a
channel with staff gets its 联系我 QR code (92228) carrying the channel's `state`."""

from __future__ import annotations

import logging

from siyu.domain.channels import STATE_PATTERN, Channel, ChannelSpec, is_valid_state
from siyu.domain.errors import Conflict, InvalidInput, NotFound
from siyu.domain.wecom import ContactWay, ContactWayLimit
from siyu.logging import log
from siyu.ports import ChannelRepo, ContactWays
from siyu.services.media import MediaLibrary
from siyu.services.tag_catalog import TagCatalog

logger = logging.getLogger(__name__)


def contact_way(state: str, spec: ChannelSpec) -> ContactWay | None:
    if not spec.staff:
        return None
    return ContactWay(
        state=state, users=spec.staff, skip_verify=spec.skip_verify, remark=spec.name[:30]
    )


class ChannelService:
    def __init__(
        self,
        catalog: TagCatalog,
        channels: ChannelRepo,
        ways: ContactWays,
        media: MediaLibrary,
    ) -> None:
        self._catalog = catalog
        self._channels = channels
        self._ways = ways
        self._media = media

    def put(self, state: str, spec: ChannelSpec) -> Channel:
        """Create or replace the channel. Everything is checked before WeCom is asked; missing
        corp tags are created; the QR code is made, changed in place, or (when the code
        switches between one member and several, which WeCom cannot change) made anew."""
        if not is_valid_state(state):
            raise InvalidInput("state", f"must match {STATE_PATTERN} (WeCom: ≤ 30 characters)")
        self._media.require("attachments", spec.attachments)
        current = self._channels.get(state)
        tag_ids = self._catalog.ids(spec.tags) if spec.tags else []
        way = contact_way(state, spec)
        config_id, qr_code = (current.config_id, current.qr_code) if current else ("", "")
        old_way = contact_way(state, current) if current else None
        if config_id and (way is None or old_way is None or way.type != old_way.type):
            self._ways.del_contact_way(config_id)
            config_id, qr_code = "", ""
        if way is not None and config_id:
            self._ways.update_contact_way(config_id, way)
        elif way is not None:
            try:
                config_id, qr_code = self._ways.add_contact_way(way)
            except ContactWayLimit as exc:
                raise Conflict(f"WeCom allows no more 联系我 codes: {exc}") from exc
            # Logged before it is stored: a lost config_id can still be found and deleted.
            log(logger, logging.INFO, "contact way created", state=state, config_id=config_id)
        channel = Channel(
            state=state, tag_ids=tag_ids, config_id=config_id, qr_code=qr_code, **dict(spec)
        )
        self._channels.put(channel)
        return channel

    def delete(self, state: str) -> Channel:
        """Delete the channel's QR code in WeCom; the channel stays for the customers it
        brought (their welcome and tags, the funnel's labels) without staff or code."""
        current = self._channels.get(state)
        if current is None:
            raise NotFound(f"channel {state}")
        if current.config_id:
            self._ways.del_contact_way(current.config_id)
        channel = current.model_copy(update={"config_id": "", "qr_code": "", "staff": []})
        self._channels.put(channel)
        return channel

    def all(self) -> list[Channel]:
        return sorted(self._channels.all(), key=lambda c: c.state)
