"""The dev gateway: a loopback server mounting functions at their production paths.

`--serve http` mounts the HTTP functions (what API Gateway fronts), `--serve events` the
CloudEvent functions the push subscriptions deliver to (the worker), so either process can
die and come back on its own, as an instance does in production.
"""

from __future__ import annotations

import argparse

from functions_framework import create_app
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from siyu.devstack.registry import FUNCTIONS


def _health(environ: dict, start_response):  # type: ignore[no-untyped-def]
    request = Request(environ)
    if request.path == "/_health":
        return Response("ok")(environ, start_response)
    return Response("not found", status=404)(environ, start_response)


def _rooted(app):  # type: ignore[no-untyped-def]
    """A mount sees an empty PATH_INFO for its exact path; Cloud Functions would see `/`."""

    def wsgi(environ: dict, start_response):  # type: ignore[no-untyped-def]
        environ["PATH_INFO"] = environ.get("PATH_INFO") or "/"
        return app(environ, start_response)

    return wsgi


def build_app(serve: str = "all"):  # type: ignore[no-untyped-def]
    mounts = {}
    for fn in FUNCTIONS:
        if serve != "all" and (serve == "events") != bool(fn.topic):
            continue
        app = create_app(fn.name, str(fn.source), fn.signature)
        mounts[fn.path or fn.push_path] = _rooted(app)
    return DispatcherMiddleware(_health, mounts)


def main() -> None:
    parser = argparse.ArgumentParser(description="siyu dev gateway")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--serve", choices=["all", "http", "events"], default="all")
    args = parser.parse_args()
    make_server("127.0.0.1", args.port, build_app(args.serve), threaded=True).serve_forever()


if __name__ == "__main__":
    main()
