"""The normalized WeCom callback event that travels on the wecom-events topic."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class WelcomeState(StrEnum):
    """Who still owes the welcome message for an add event."""

    NONE = "none"  # no WelcomeCode: the console or an earlier chat already greeted
    SENT = "sent"  # the callback's fast path sent it
    PENDING = "pending"  # the worker must send it while the 20-s window is open


class WeComEvent(BaseModel):
    """One change_external_* callback, with WeCom's field names mapped to snake case."""

    model_config = ConfigDict(frozen=True)

    event: str
    change_type: str
    create_time: int
    corp_id: str = ""
    user_id: str = ""
    external_user_id: str = ""
    chat_id: str = ""
    state: str = ""
    welcome_code: str = ""
    source: str = ""
    fail_reason: str = ""
    update_detail: str = ""
    join_scene: int | None = None
    quit_scene: int | None = None
    mem_change_cnt: int | None = None
    mem_change_list: tuple[str, ...] = ()  # who joined or left (newer callbacks carry it)
    tag_id: str = ""
    tag_type: str = ""
    strategy_id: str = ""
    raw_sha256: str = Field(description="sha256 of the decrypted inner XML")
    welcome: WelcomeState = WelcomeState.NONE

    @property
    def dedupe_key(self) -> str:
        """WECOM.md's key: ChangeType + UserID + ExternalUserID|ChatId + CreateTime + sha256."""
        subject = self.external_user_id or self.chat_id or self.tag_id
        parts = [self.change_type, self.user_id, subject, str(self.create_time), self.raw_sha256]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    @property
    def ordering_key(self) -> str:
        """Events about one customer (or one group, or the tag catalogue) stay in order."""
        if self.external_user_id:
            return f"customer:{self.external_user_id}"
        if self.chat_id:
            return f"chat:{self.chat_id}"
        return f"{self.event}"
