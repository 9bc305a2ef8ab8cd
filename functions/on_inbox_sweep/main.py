"""on_inbox_sweep: every minute, publish the WeCom callbacks stored while publishing failed."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu import bootstrap
from siyu.adapters.pubsub import consume
from siyu.config import settings
from siyu.domain.inbox import SweepTick


@functions_framework.cloud_event
def on_inbox_sweep(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        SweepTick,
        bootstrap.inbox_sweeper().sweep,
        bootstrap.topic(settings().topic_inbox_sweep_ticks).dead_letter,
        bootstrap.delivery_attempts(),
    )
