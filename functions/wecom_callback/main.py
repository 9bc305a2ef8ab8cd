"""wecom_callback: WeCom's callback URL — URL verification (GET) and change events (POST)."""

import functions_framework
from flask import Request, Response

from siyu.adapters.http import handle, read_body
from siyu.bootstrap import root
from siyu.domain.errors import InvalidInput, MethodNotAllowed
from siyu.domain.intake import CallbackQuery

# Fail closed: without its secrets the instance does not start.
root().settings.require("wecom_token", "wecom_aes_key", "wecom_secret")


@functions_framework.http
def wecom_callback(request: Request) -> Response:
    return handle(request, lambda: _serve(request))


def _serve(request: Request) -> Response:
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed(f"{request.method} not allowed; WeCom uses GET and POST")
    query = CallbackQuery.model_validate(request.args.to_dict())
    if request.method == "GET":
        echostr = request.args.get("echostr", "")
        if not echostr:
            raise InvalidInput("echostr", "required for URL verification")
        return Response(root().intake().verify_url(query, echostr), mimetype="text/plain")
    body = read_body(request, root().settings.max_callback_bytes)
    root().intake().receive(query, body)
    # WeCom accepts 200 with `success`; anything else makes it retry.
    return Response("success", mimetype="text/plain")
