"""on_biz_event: applies each business event from biz-events (referrals, profile, tags)."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.domain.biz_events import BizEvent

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret", "identifier_key")


@functions_framework.cloud_event
def on_biz_event(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        BizEvent,
        root().biz_events().handle,
        root().topic(root().settings.topic_biz_events).dead_letter,
        root().deliveries(),
    )
