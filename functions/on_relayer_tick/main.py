"""on_relayer_tick: daily, re-layers the bank customers whose time-based results are due."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick

# Fail closed: without its secrets the instance does not start (layer tag ids may be created).
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_relayer_tick(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_relayer_ticks, root().relayering().tick),
        root().topic(root().settings.topic_relayer_ticks).dead_letter,
        root().deliveries(),
    )
