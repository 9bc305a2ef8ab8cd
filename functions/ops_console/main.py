"""ops_console: the operators' web console, its files served from the function's bundle.
The page calls /ops with the member's session; every read and change goes through ops_api."""

import functions_framework
from flask import Request, Response

from siyu.adapters.console_assets import Assets
from siyu.adapters.http import handle

ASSETS = Assets()


@functions_framework.http
def ops_console(request: Request) -> Response:
    return handle(request, lambda: ASSETS.serve(request))
