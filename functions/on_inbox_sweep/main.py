"""on_inbox_sweep: every minute, publish the WeCom callbacks stored while publishing failed."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick


@functions_framework.cloud_event
def on_inbox_sweep(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_inbox_sweep_ticks, root().inbox_sweeper().sweep),
        root().topic(root().settings.topic_inbox_sweep_ticks).dead_letter,
        root().deliveries(),
    )
