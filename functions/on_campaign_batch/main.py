"""on_campaign_batch: one WeCom 群发 task (add_msg_template) per batch, exactly once."""

import functions_framework
from cloudevents.http import CloudEvent

from siyu import bootstrap
from siyu.adapters.pubsub import consume
from siyu.config import settings
from siyu.domain.campaigns import CampaignBatch

# Fail closed: without its secrets the instance does not start.
settings().require("wecom_secret")


@functions_framework.cloud_event
def on_campaign_batch(cloud_event: CloudEvent) -> None:
    consume(
        cloud_event.data,
        CampaignBatch,
        bootstrap.batch_sender().send,
        bootstrap.topic(settings().topic_campaign_batches).dead_letter,
        bootstrap.delivery_attempts(),
    )
