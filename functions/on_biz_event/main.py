"""on_biz_event: applies each business event from biz-events (referrals, profile, tags)."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu import bootstrap
from siyu.adapters.pubsub import consume
from siyu.config import settings
from siyu.domain.biz_events import BizEvent

# Fail closed: without its secrets the instance does not start.
settings().require("wecom_secret")


@functions_framework.cloud_event
def on_biz_event(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        BizEvent,
        bootstrap.biz_events().handle,
        bootstrap.topic(settings().topic_biz_events).dead_letter,
        bootstrap.delivery_attempts(),
    )
