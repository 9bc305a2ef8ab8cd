"""on_tag_sync: pushes a customer's earned tags to WeCom (mark_tag per active relation)."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.domain.tags import TagSyncRequest

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_tag_sync(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        TagSyncRequest,
        root().tag_sync().sync,
        root().topic(root().settings.topic_tag_sync).dead_letter,
        root().deliveries(),
    )
