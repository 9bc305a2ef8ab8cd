"""on_tag_backfill: every minute (and when a rule is saved), carries tag rules to every customer."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick

# Fail closed: without its secrets the instance does not start (layer tag ids may be created).
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_tag_backfill(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_tag_backfill_ticks, root().tag_backfill().tick),
        root().topic(root().settings.topic_tag_backfill_ticks).dead_letter,
        root().deliveries(),
    )
