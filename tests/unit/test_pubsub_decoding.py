"""A pushed Pub/Sub message as Eventarc and the push-to-CloudEvent conversion deliver it,
and what `consume` does with each kind of message and failure."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import BaseModel

from siyu.adapters.pubsub import DELIVERY, consume, decode_cloud_event
from siyu.domain.errors import InvalidInput, TransientError
from tests.fakes import FakeDeliveries, FakeTopic


class Ping(BaseModel):
    n: int


def envelope(data: bytes, **message: Any) -> dict[str, Any]:
    return {"message": {"data": base64.b64encode(data).decode(), **message}}


def test_eventarc_and_push_spellings_of_the_message_id_both_read() -> None:
    eventarc = decode_cloud_event(envelope(b"{}", messageId="m1", attributes={"k": "v"}))
    push = decode_cloud_event({**envelope(b"{}", message_id="m2"), "deliveryAttempt": 3})
    assert (eventarc.message_id, eventarc.attributes, eventarc.delivery_attempt) == (
        "m1",
        {"k": "v"},
        None,
    )
    assert (push.message_id, push.attributes, push.delivery_attempt) == ("m2", {}, 3)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (None, "message"),
        ({"subscription": "s"}, "message"),
        ({"message": "text"}, "message"),
        ({"message": {"data": "not base64!"}}, "message.data"),
    ],
)
def test_what_is_not_a_pubsub_message_is_named(data: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        decode_cloud_event(data)
    assert err.value.field == field


def test_a_message_is_handled_and_a_poison_one_dead_lettered_and_acknowledged() -> None:
    seen: list[Ping] = []
    topic = FakeTopic()
    consume(envelope(b'{"n": 1}', messageId="1"), Ping, seen.append, topic.dead_letter)
    consume(envelope(b'{"n": "x"}', messageId="2"), Ping, seen.append, topic.dead_letter)
    assert seen == [Ping(n=1)]
    [(payload, reason)] = topic.dead
    assert payload == b'{"n": "x"}' and reason.startswith("invalid Ping")


def test_a_failure_is_retried_until_the_last_attempt_then_dead_lettered() -> None:
    topic, deliveries = FakeTopic(), FakeDeliveries()

    def fail(_: Ping) -> None:
        raise TransientError("WeCom busy")

    message = envelope(b'{"n": 1}', messageId="m")
    for _ in range(DELIVERY.max_delivery_attempts - 1):
        with pytest.raises(TransientError):  # Pub/Sub redelivers with backoff
            consume(message, Ping, fail, topic.dead_letter, deliveries)
    consume(message, Ping, fail, topic.dead_letter, deliveries)  # the last: acknowledged
    [(_, reason)] = topic.dead
    assert (
        reason == f"failed {DELIVERY.max_delivery_attempts} deliveries: TransientError: WeCom busy"
    )
