"""on_directory_tick: every 5 minutes, the group directory's next snapshot (card-alert starts)."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick


@functions_framework.cloud_event
def on_directory_tick(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_directory_ticks, root().group_directory().tick),
        root().topic(root().settings.topic_directory_ticks).dead_letter,
        root().deliveries(),
    )
