"""on_wecom_event: applies each normalized WeCom event from the wecom-events topic."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.domain.events import WeComEvent

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_wecom_event(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        WeComEvent,
        root().processor().handle,
        root().publisher().dead_letter,
        root().deliveries(),
    )
