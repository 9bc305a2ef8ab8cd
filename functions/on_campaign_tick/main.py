"""on_campaign_tick: every 5 minutes, plan the campaigns due and follow their 群发 tasks."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_campaign_tick(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_campaign_ticks, root().campaign_planner().tick),
        root().topic(root().settings.topic_campaign_ticks).dead_letter,
        root().deliveries(),
    )
