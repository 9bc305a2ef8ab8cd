"""on_tag_sync: pushes a customer's earned tags to WeCom (mark_tag per active relation)."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu import bootstrap
from siyu.adapters.pubsub import consume
from siyu.config import settings
from siyu.services.customer_profile import TagSyncRequest

# Fail closed: without its secrets the instance does not start.
settings().require("wecom_secret")


@functions_framework.cloud_event
def on_tag_sync(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        TagSyncRequest,
        bootstrap.tag_sync().sync,
        bootstrap.topic(settings().topic_tag_sync).dead_letter,
        bootstrap.delivery_attempts(),
    )
