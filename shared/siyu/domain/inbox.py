"""The callback inbox: an accepted WeCom event is kept until it is published.

90238 says WeCom retries every non-200 answer; 90930 says it retries only connection
failures and time-outs. Either way a 503 may never come back, so once an event is stored
the callback answers 200 and the sweeper publishes whatever the callback could not.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from siyu.domain.events import WeComEvent
from siyu.domain.model import Model


class InboxStatus(StrEnum):
    RECEIVED = "received"  # stored; the callback is publishing it now (or died doing so)
    PENDING = "pending"  # publishing failed: the sweeper's to publish
    PUBLISHED = "published"


class InboxEntry(Model):
    key: str
    status: InboxStatus
    event: WeComEvent
    created_at: datetime
    message_id: str = ""
    reason: str = ""
