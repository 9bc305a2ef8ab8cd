"""biz_events: the bank's systems post signed business events; each is validated and queued."""

import time

import functions_framework
from flask import Request, Response

from siyu import bootstrap
from siyu.adapters.http import handle, json_response, parse_json, read_body, require_method
from siyu.config import settings
from siyu.domain.biz_events import BizEvent


@functions_framework.http
def biz_events(request: Request) -> Response:
    return handle(request, lambda: _serve(request))


def _serve(request: Request) -> Response:
    require_method(request, "POST")
    s = settings()
    body = read_body(request, s.max_request_bytes)
    # The signature is checked before the body is parsed: a forged request changes nothing.
    bootstrap.partner_auth().verify(request.headers, body, time.time())
    event = parse_json(body, BizEvent)
    message_id = bootstrap.topic(s.topic_biz_events).send(
        event, event.ordering_key, event_type=event.type, event_id=event.event_id
    )
    return json_response({"event_id": event.event_id, "message_id": message_id}, 202)
