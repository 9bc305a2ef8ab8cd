"""Pub/Sub publisher (ordering keys, deliberate batching) and CloudEvent decoding."""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from siyu.domain.errors import InvalidInput, TransientError
from siyu.domain.events import WeComEvent
from siyu.domain.model import Model
from siyu.logging import correlated, correlation_id, log
from siyu.ports import FailureCounter

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

# The callback waits for each publish: a 5-ms batch window keeps its ack fast while
# still batching events that arrive together.
BATCH = {"max_messages": 100, "max_bytes": 1_000_000, "max_latency": 0.005}
_PUBLISH_TIMEOUT_S = 2.0


class PushedMessage(Model):
    """A Pub/Sub message as both the push envelope and Eventarc deliver it."""

    data: bytes
    attributes: dict[str, str] = {}
    message_id: str = ""
    delivery_attempt: int | None = None


def decode_cloud_event(data: Any) -> PushedMessage:
    """Decode `data.message` of a messagePublished CloudEvent (Eventarc or converted push)."""
    if not isinstance(data, dict) or not isinstance(data.get("message"), dict):
        raise InvalidInput("message", "CloudEvent data has no Pub/Sub message")
    message = data["message"]
    try:
        payload = base64.b64decode(message.get("data", ""), validate=True)
    except ValueError as exc:
        raise InvalidInput("message.data", "not base64") from exc
    return PushedMessage(
        data=payload,
        attributes=message.get("attributes") or {},
        message_id=message.get("messageId") or message.get("message_id") or "",
        delivery_attempt=data.get("deliveryAttempt"),
    )


class Publisher:
    def __init__(self, project: str, topic: str, dead_letter_topic: str) -> None:
        # Imported when a publisher is first built: a worker that only decodes pushed
        # messages at start does not pay for the gRPC client (~250 ms).
        from google.cloud.pubsub_v1 import PublisherClient
        from google.cloud.pubsub_v1.types import BatchSettings, PublisherOptions

        self._client = PublisherClient(
            batch_settings=BatchSettings(**BATCH),
            publisher_options=PublisherOptions(enable_message_ordering=True),
        )
        self._topic = self._client.topic_path(project, topic)
        self._dead_letter = self._client.topic_path(project, dead_letter_topic)

    def publish(self, event: WeComEvent) -> str:
        return self.send(
            event,
            event.ordering_key,
            dedupe_key=event.dedupe_key,
            change_type=event.change_type,
        )

    def send(self, message: BaseModel, ordering_key: str = "", **attributes: str) -> str:
        """Publish one model as JSON and wait for its message id."""
        key = ordering_key
        future = self._client.publish(
            self._topic,
            message.model_dump_json().encode(),
            ordering_key=key,
            # The consumer logs under the sender's id: one event, one thread through the logs.
            correlation_id=correlation_id(),
            **attributes,
        )
        try:
            return str(future.result(timeout=_PUBLISH_TIMEOUT_S))
        except Exception as exc:  # whatever the cause, the message is not known to be stored
            if key:  # a failed publish pauses its ordering key until resumed
                # A time-out leaves the key unpaused (the publish is still pending), and
                # resuming an unpaused key raises RuntimeError: nothing to resume then.
                with contextlib.suppress(RuntimeError):
                    self._client.resume_publish(self._topic, key)
            raise TransientError(f"publish to {self._topic} failed: {type(exc).__name__}") from exc

    def dead_letter(self, payload: bytes, reason: str) -> None:
        future = self._client.publish(self._dead_letter, payload, reason=reason[:1000])
        future.result(timeout=_PUBLISH_TIMEOUT_S)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How Pub/Sub redelivers to a function. Production's push subscriptions (Terraform)
    and the local stack's use these same numbers; the backoff outlasts the locks a worker
    killed mid-transaction leaves behind."""

    minimum_backoff_s: int = 10
    maximum_backoff_s: int = 600
    max_delivery_attempts: int = 5


DELIVERY = DeliveryPolicy()


def consume(
    cloud_event_data: Any,
    model: type[M],
    handler: Callable[[M], object],
    dead_letter: Callable[[bytes, str], None],
    attempts: FailureCounter | None = None,
) -> None:
    """Validate and handle one pushed message.

    A payload that can never be valid goes to the dead-letter topic and is acknowledged.
    TransientError and any other failure propagate so Pub/Sub redelivers with backoff; the
    failure that uses the last allowed attempt dead-letters the message with its reason
    and acknowledges it instead (Pub/Sub's own dead-lettering stays as the fallback).
    """
    message = decode_cloud_event(cloud_event_data)
    with correlated(message.attributes.get("correlation_id") or message.message_id or None):
        try:
            item = model.model_validate_json(message.data)
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = f"invalid {model.__name__}: {first['loc']} {first['msg']}"
            dead_letter(message.data, reason)
            log(
                logger,
                logging.ERROR,
                "poison message dead-lettered",
                reason=reason,
                message_id=message.message_id,
            )
            return
        try:
            handler(item)
            log(logger, logging.INFO, "message handled", message_id=message.message_id)
        except Exception as exc:
            if attempts is None:
                raise
            key = f"{model.__name__}:{message.message_id}"
            try:
                failures = attempts.failed(key)
            except Exception:
                raise exc from None  # cannot count: Pub/Sub's policy decides
            if failures < DELIVERY.max_delivery_attempts:
                raise
            reason = f"failed {failures} deliveries: {type(exc).__name__}: {exc}"[:1000]
            dead_letter(message.data, reason)
            log(
                logger,
                logging.ERROR,
                "message dead-lettered after its last attempt",
                reason=reason,
                message_id=message.message_id,
            )
