"""Read and replay `<topic>-dlq` through its `<topic>-dlq-ops` subscription (`siyu dlq`).

Listing leaves every message where it is; replaying publishes a message's data to its
topic again and then acknowledges it in the dead-letter queue. Replay is safe to repeat:
every handler is idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime

from google.api_core.exceptions import NotFound
from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

from siyu.domain.model import Model
from siyu.logging import log

_PULL_TIMEOUT_S = 5.0
logger = logging.getLogger(__name__)
_DROPPED = ("reason",)  # what the dead-lettering added; the rest travels with a replay


class DeadLetter(Model):
    message_id: str
    published_at: datetime | None
    reason: str
    attributes: dict[str, str]
    data: bytes


def _pull_all(
    subscriber: SubscriberClient, path: str, limit: int, return_immediately: bool = False
) -> list[tuple[str, DeadLetter]]:
    """Every message (up to `limit`), held unacknowledged while we look."""
    held: dict[str, tuple[str, DeadLetter]] = {}
    while len(held) < limit:
        request = {"subscription": path, "max_messages": min(1000, limit - len(held))}
        if return_immediately:  # a count for a page: an empty queue must not hold it up
            request["return_immediately"] = True
        response = subscriber.pull(request=request, timeout=_PULL_TIMEOUT_S)
        fresh = [m for m in response.received_messages if m.message.message_id not in held]
        if not fresh:
            break
        for received in fresh:
            message = received.message
            attributes = dict(message.attributes)
            held[message.message_id] = (
                received.ack_id,
                DeadLetter(
                    message_id=message.message_id,
                    published_at=message.publish_time or None,
                    reason=attributes.get("reason") or _exhausted(attributes),
                    attributes=attributes,
                    data=bytes(message.data),
                ),
            )
    return list(held.values())


def _exhausted(attributes: dict[str, str]) -> str:
    """Pub/Sub's own dead-lettering (the fallback) says only how often it tried."""
    return f"exhausted {attributes.get('CloudPubSubDeadLetterSourceDeliveryCount', '?')} attempts"


def _release(subscriber: SubscriberClient, path: str, ack_ids: list[str]) -> None:
    if ack_ids:
        subscriber.modify_ack_deadline(
            request={"subscription": path, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
        )


class DeadLetterGauge:
    """How many messages wait in each `<topic>-dlq-ops`: pulled and released at once (no
    ack), so they stay for `siyu dlq` to read and replay."""

    def __init__(self, project: str) -> None:
        self._project = project
        self._subscriber = SubscriberClient()

    def waiting(self, topic: str, limit: int) -> int | None:
        path = self._subscriber.subscription_path(self._project, f"{topic}-dlq-ops")
        try:
            held = _pull_all(self._subscriber, path, limit, return_immediately=True)
        except NotFound:
            log(logger, logging.WARNING, "no dead-letter subscription to count", subscription=path)
            return None
        _release(self._subscriber, path, [ack for ack, _ in held])
        return len(held)


def list_dead(project: str, topic: str, limit: int = 1000) -> list[DeadLetter]:
    subscriber = SubscriberClient()
    path = subscriber.subscription_path(project, f"{topic}-dlq-ops")
    held = _pull_all(subscriber, path, limit)
    _release(subscriber, path, [ack for ack, _ in held])
    return [letter for _, letter in held]


def replay(project: str, topic: str, message_id: str | None = None) -> list[str]:
    """Publish the dead letters (or the one with `message_id`) to `topic` again."""
    subscriber, publisher = SubscriberClient(), PublisherClient()
    path = subscriber.subscription_path(project, f"{topic}-dlq-ops")
    held = _pull_all(subscriber, path, 10_000)
    chosen = [(a, d) for a, d in held if message_id in (None, d.message_id)]
    target = publisher.topic_path(project, topic)
    replayed = []
    for ack_id, letter in chosen:
        attributes = {
            k: v
            for k, v in letter.attributes.items()
            if k not in _DROPPED and not k.startswith("CloudPubSubDeadLetter")
        }
        attributes["replayed_from"] = letter.message_id
        publisher.publish(target, letter.data, **attributes).result(timeout=30)
        subscriber.acknowledge(request={"subscription": path, "ack_ids": [ack_id]})
        replayed.append(letter.message_id)
    _release(subscriber, path, [a for a, d in held if d.message_id not in replayed])
    return replayed
