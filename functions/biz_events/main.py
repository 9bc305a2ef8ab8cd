"""biz_events: the bank's systems post signed business events; each is validated and queued."""

import functions_framework
from flask import Request, Response

from siyu.adapters.http import PartnerSigned, Route, Router, handle
from siyu.bootstrap import root
from siyu.domain.biz_events import BizEvent
from siyu.domain.model import Model


class Queued(Model):
    event_id: str
    message_id: str


def _queue_event(body: BizEvent) -> Queued:
    """A signed business event ({type, payload}); queued on biz-events for its handler."""
    topic = root().topic(root().settings.topic_biz_events)
    message_id = topic.send(body, body.ordering_key, event_type=body.type, event_id=body.event_id)
    return Queued(event_id=body.event_id, message_id=message_id)


ROUTES = Router(
    {("POST", "/events"): Route(_queue_event, Queued, body=BizEvent, status=202)},
    guard=PartnerSigned(lambda: root().partner_auth()),
)


@functions_framework.http
def biz_events(request: Request) -> Response:
    return handle(request, lambda: ROUTES.dispatch(request, root().settings.max_request_bytes))
