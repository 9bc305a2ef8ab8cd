"""on_campaign_batch: one WeCom 群发 task (add_msg_template) per batch, exactly once."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu.adapters.pubsub import consume
from siyu.bootstrap import root
from siyu.domain.campaigns import CampaignBatch

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_secret")


@functions_framework.cloud_event
def on_campaign_batch(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        CampaignBatch,
        root().batch_sender().send,
        root().topic(root().settings.topic_campaign_batches).dead_letter,
        root().deliveries(),
    )
