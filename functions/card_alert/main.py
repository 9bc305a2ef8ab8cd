"""card_alert: the card-alert system asks, per transaction, which benefit group to invite to."""

import time

import functions_framework
from flask import Request, Response

from siyu import bootstrap
from siyu.adapters.http import handle, json_response, parse_json, read_body, require_method
from siyu.config import settings
from siyu.domain.card_alerts import CardAlert


@functions_framework.http
def card_alert(request: Request) -> Response:
    return handle(request, lambda: _serve(request))


def _serve(request: Request) -> Response:
    require_method(request, "POST")
    body = read_body(request, settings().max_request_bytes)
    # The signature is checked before the body is parsed: a forged request changes nothing.
    bootstrap.partner_auth().verify(request.headers, body, time.time())
    alert = parse_json(body, CardAlert)
    return json_response(bootstrap.card_alerts().answer(alert))
