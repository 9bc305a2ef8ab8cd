"""card_alert: the card-alert system asks, per transaction, which benefit group to invite to."""

import functions_framework
from flask import Request, Response

from siyu.adapters.http import PartnerSigned, Route, Router, handle
from siyu.bootstrap import root
from siyu.domain.card_alerts import CardAlert, CardAlertAnswer


def _answer_card_alert(body: CardAlert) -> CardAlertAnswer:
    """One card transaction; answers the invite to the nearest benefit group with room."""
    return root().card_alerts().answer(body)


ROUTES = Router(
    {("POST", "/card-alert"): Route(_answer_card_alert, CardAlertAnswer, body=CardAlert)},
    guard=PartnerSigned(lambda: root().partner_auth()),
)


@functions_framework.http
def card_alert(request: Request) -> Response:
    return handle(request, lambda: ROUTES.dispatch(request, root().settings.max_request_bytes))
