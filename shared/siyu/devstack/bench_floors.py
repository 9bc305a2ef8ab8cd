"""What `make bench` measures siyu's HTTP functions against, served the same way: a
hello-world function, and floor functions doing exactly a hot path's I/O with the same
Google clients and nothing else. A function's ratio to its floor is the share of its time
spent on I/O; the rest is Python (devstack only, never shipped in a function bundle)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import functions_framework
from flask import Request
from google.cloud import firestore, pubsub_v1

from siyu.adapters.firestore.store import ALERT_FIELDS
from siyu.adapters.pubsub import BATCH


@cache
def _db() -> firestore.Client:
    return firestore.Client(project=os.environ["SIYU_PROJECT"])


@cache
def _publisher() -> tuple[pubsub_v1.PublisherClient, str]:
    # The publisher siyu's adapter builds: ordering on, its batch window.
    client = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(**BATCH),
        publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True),
    )
    topic = os.environ.get("SIYU_TOPIC_WECOM_EVENTS", "wecom-events")
    return client, client.topic_path(os.environ["SIYU_PROJECT"], topic)


@functions_framework.http
def hello(request: Request) -> str:
    return "success"


@functions_framework.http
def callback_floor(request: Request) -> str:
    """The callback's I/O, as wecom_callback does it for an event without a WelcomeCode:
    create the inbox document, publish the event, mark the document published."""
    body = request.get_data()
    key = f"floor-{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    ref = _db().collection("inbox").document(key)
    ref.create(
        {
            "key": key,
            "status": "received",
            "event": body[:600].decode(errors="replace"),
            "external_user_id": key,
            "created_at": now,
            "expire_at": now + timedelta(days=7),
        }
    )
    client, topic = _publisher()
    message_id = client.publish(topic, body[:600], ordering_key=f"customer:{key}").result()
    ref.set({"status": "published", "message_id": message_id, "marked_at": now}, merge=True)
    return "success"


@functions_framework.http
def card_alert_floor(request: Request) -> tuple[dict[str, Any], int]:
    """The card alert's I/O: one read of the bank customer's document, the fields an alert
    reads, decoded as the repository decodes them."""
    customer = (request.get_json(silent=True) or {}).get("bank_customer_id", "none")
    snap = _db().collection("bank_customers").document(str(customer)).get(field_paths=ALERT_FIELDS)
    return {"invite": None, "found": snap.to_dict() is not None}, 200
