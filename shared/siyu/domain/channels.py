"""Channel codes (渠道活码): the `state` an add carries decides its welcome and tags."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from siyu.domain.access import BranchRef
from siyu.domain.content import MAX_ATTACHMENTS, Attachment
from siyu.domain.model import Model
from siyu.domain.tags import TagRef

MAX_STATE_LEN = 30  # WeCom limit on add_contact_way state
# Letters, digits, _ and -: safe as a Firestore document id and in a URL path.
STATE_PATTERN = r"^[A-Za-z0-9_-]{1,30}$"


class ChannelSpec(Model):
    """What ops send to create or change a channel. With `staff`, siyu makes the channel's
    联系我 QR code (one member: a single code; more: a multi-member code, ≤ 100, 92228)."""

    name: str = Field(min_length=1, max_length=60)
    welcome_text: str = Field(min_length=1, max_length=4000)
    attachments: list[Attachment] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS, description="sent with the welcome"
    )
    tags: list[TagRef] = Field(default_factory=list, max_length=20)
    staff: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100
    )
    skip_verify: bool = Field(True, description="customers are added without the member's OK")
    city: str = Field("", max_length=32, description="where the code is used; funnel reports")
    branch: BranchRef = ""


class Channel(ChannelSpec):
    state: str = Field(pattern=STATE_PATTERN, max_length=MAX_STATE_LEN)
    tag_ids: list[str] = Field(default_factory=list)
    config_id: str = ""  # the 联系我 way in WeCom: without it the way cannot be changed
    qr_code: str = ""

    def tag_refs(self) -> dict[str, TagRef]:
        """Tag id → the group and name ops gave it; ids are stored in the order of `tags`."""
        return dict(zip(self.tag_ids, self.tags, strict=False))


def is_valid_state(state: str) -> bool:
    return re.fullmatch(STATE_PATTERN, state) is not None
