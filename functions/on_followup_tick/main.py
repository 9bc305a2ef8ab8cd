"""on_followup_tick: every 15 minutes, each staff member's due follow-ups as one message."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.services.ticks import Tick

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_agent_secret")


@functions_framework.cloud_event
def on_followup_tick(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        Tick,
        root().heartbeat(root().settings.topic_followup_ticks, root().followup_notifier().tick),
        root().topic(root().settings.topic_followup_ticks).dead_letter,
        root().deliveries(),
    )
