"""ops_api: the operators' API under /ops (IAM in production, a bearer token locally)."""

import functions_framework
from flask import Request, Response

from siyu import bootstrap
from siyu.adapters.http import Router, handle, json_response, read_json, require_bearer
from siyu.config import settings
from siyu.domain.channels import ChannelSpec
from siyu.domain.errors import NotFound


def _customer(_request: Request, external_userid: str) -> Response:
    customer = bootstrap.customers().get(external_userid)
    if customer is None:
        raise NotFound(f"customer {external_userid}")
    return json_response(customer)


def _group(_request: Request, chat_id: str) -> Response:
    group = bootstrap.groups().get(chat_id)
    if group is None:
        raise NotFound(f"group {chat_id}")
    return json_response(group)


def _put_channel(request: Request, state: str) -> Response:
    spec = read_json(request, ChannelSpec)
    return json_response(bootstrap.channel_service().put(state, spec))


def _get_channel(_request: Request, state: str) -> Response:
    channel = bootstrap.channels().get(state)
    if channel is None:
        raise NotFound(f"channel {state}")
    return json_response(channel)


ROUTES = Router(
    {
        ("GET", "/ops/customers/<external_userid>"): _customer,
        ("GET", "/ops/groups/<chat_id>"): _group,
        ("GET", "/ops/channels/<state>"): _get_channel,
        ("PUT", "/ops/channels/<state>"): _put_channel,
    }
)


def _serve(request: Request) -> Response:
    token = settings().ops_token
    require_bearer(request, token.get_secret_value() if token else None)
    return ROUTES.dispatch(request)


@functions_framework.http
def ops_api(request: Request) -> Response:
    return handle(request, lambda: _serve(request))
