"""Cloud Scheduler's part on the local stack: publish a tick to a scheduled function's topic."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from siyu.devstack.registry import FUNCTIONS
from siyu.devstack.stack import StackConfig


def tick(cfg: StackConfig, function: str, as_of: datetime | None = None) -> str:
    """What the scheduler job would publish; `as_of` plays the clock forward (local only)."""
    spec = next((f for f in FUNCTIONS if f.name == function and f.schedule), None)
    if spec is None:
        scheduled = sorted(f.name for f in FUNCTIONS if f.schedule)
        raise ValueError(f"{function} is not a scheduled function; use one of {scheduled}")
    os.environ.update(cfg.env())
    from google.cloud import pubsub_v1

    body: dict[str, Any] = {"job": f"local-{function}"}
    if as_of is not None:
        body["as_of"] = as_of.isoformat()
    publisher = pubsub_v1.PublisherClient()
    topic = publisher.topic_path(cfg.project, spec.topic)
    return str(publisher.publish(topic, json.dumps(body).encode()).result(timeout=30))
