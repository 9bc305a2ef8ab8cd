"""on_content_upkeep: every 6 hours, re-uploads media before WeCom expires it and keeps group
welcomes and group codes in step."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_content_upkeep(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_content_upkeep_ticks, root().content_upkeep().tick),
        root().topic(root().settings.topic_content_upkeep_ticks).dead_letter,
        root().deliveries(),
    )
