"""on_retention_tick: daily, erases the customers kept longer than SIYU_RETENTION_DAYS."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick

# Fail closed: without its secrets the instance does not start (rule tags come off in WeCom).
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_retention_tick(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_retention_ticks, root().retention().tick),
        root().topic(root().settings.topic_retention_ticks).dead_letter,
        root().deliveries(),
    )
