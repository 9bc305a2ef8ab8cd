"""HTTP plumbing shared by the HTTP functions: error mapping and path routing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from flask import Request, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.routing import Map, Rule

from siyu.adapters import jsonbody
from siyu.domain import errors
from siyu.domain.access import Role
from siyu.domain.compliance import NotCompliant
from siyu.domain.ids import doc_id_problem
from siyu.domain.model import Model
from siyu.domain.partner_auth import PartnerAuth
from siyu.logging import correlated, log

logger = logging.getLogger(__name__)

_STATUS: list[tuple[type[Exception], int]] = [
    (errors.InvalidInput, 400),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.MethodNotAllowed, 405),
    (errors.Conflict, 409),
    (errors.TooLarge, 413),
    (errors.TransientError, 503),
]


class ErrorBody(Model):
    """What every refusal answers: the error's kind, a message, and for bad input the field."""

    error: str
    message: str = ""
    field: str | None = None
    words: list[str] | None = Field(None, description="the non-compliant words, if any")


def json_response(body: Any, status: int = 200) -> Response:
    if isinstance(body, BaseModel):
        text = body.model_dump_json()
    else:
        text = json.dumps(body, ensure_ascii=False, default=str)
    return Response(text, status=status, mimetype="application/json")


def validation_error(exc: ValidationError) -> errors.InvalidInput:
    """The first error, located by its field path (tagged-union markers like `<all>` left out)."""
    first = exc.errors()[0]
    parts = [str(p) for p in first["loc"] if not (isinstance(p, str) and p.startswith("<"))]
    return errors.InvalidInput(".".join(parts) or "body", first["msg"])


def handle(request: Request, work: Callable[[], Response]) -> Response:
    """Run one request under a correlation id; map domain errors to status codes."""
    trace = request.headers.get("X-Cloud-Trace-Context", "").split("/")[0] or None
    with correlated(trace):
        try:
            return work()
        except ValidationError as exc:
            return _error(validation_error(exc), 400)
        except errors.DomainError as exc:
            status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
            return _error(exc, status)


def _error(exc: Exception, status: int) -> Response:
    log(
        logger,
        logging.WARNING if status < 500 else logging.ERROR,
        "request refused",
        status=status,
        error=str(exc),
        kind=type(exc).__name__,
    )
    body = ErrorBody(
        error=type(exc).__name__,
        message=str(exc),
        field=exc.field if isinstance(exc, errors.InvalidInput) else None,
        words=exc.words if isinstance(exc, NotCompliant) else None,
    )
    return json_response(body.model_dump(exclude_none=True), status)


def parse_json(body: bytes, model: type[BaseModel]) -> Any:
    """Parsed and validated in one pass by pydantic's JSON parser, once the nesting depth
    is known to be sane; malformed JSON names the body, a bad value its field."""
    jsonbody.check_depth(body)
    try:
        return model.model_validate_json(body or b"null")
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise errors.InvalidInput("body", "not valid JSON") from exc
        raise


def read_query(request: Request, model: type[BaseModel]) -> Any:
    """Query-string parameters, validated like a body (errors name the parameter)."""
    return model.model_validate(request.args.to_dict())


def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing more than `limit` bytes without reading them all."""
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise errors.TooLarge(f"body over {limit} bytes")
    return body


Guard = Callable[[Request, bytes], None]


@dataclass(frozen=True)
class PartnerSigned:
    """A guard that checks the partner's HMAC over the raw body before anything parses it."""

    auth: Callable[[], PartnerAuth]

    def __call__(self, request: Request, body: bytes) -> None:
        self.auth().verify(cast(Mapping[str, str], request.headers), body, time.time())


@dataclass(frozen=True)
class Route:
    """One operation: its view and the models it takes and answers.

    The router validates the body and query with these models and serialises the answer
    through `returns`; `make openapi` writes the same models into infra/api/openapi.yaml,
    so what a partner reads there is what is enforced here."""

    view: Callable[..., Any]  # view(**path_args, body=..., query=...) -> answer or Response
    returns: Any  # the answer's type: a model or list[model] (a view may answer a Response)
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    produces: tuple[str, ...] = ("application/json",)  # a view may answer a Response in these
    max_bytes: int | None = None  # a body this route may take beyond the router's limit
    role: Role | None = None  # ops: the least role that may call it (a test checks every one)
    public: bool = False  # ops: callable without credentials (the WeCom login flow)
    before: Callable[..., Any] | None = None  # ops: the target's state, for the audit log
    changes: bool = True  # ops: False for a POST that only computes (not audited)

    @property
    def summary(self) -> str:
        return (self.view.__doc__ or "").strip().split("\n")[0]

    @cached_property
    def _answer(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.returns)

    def respond(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        if type(result) is self.returns:  # built by its own model: valid once, not twice
            return Response(result.model_dump_json(), self.status, mimetype="application/json")
        checked = self._answer.validate_python(result)
        return Response(self._answer.dump_json(checked), self.status, mimetype="application/json")


class Router:
    """Match the full path (API Gateway appends it) against werkzeug rules.

    A `guard` sees the raw body before anything parses it (a partner's signature): a
    refused request changes nothing."""

    def __init__(self, rules: dict[tuple[str, str], Route], guard: Guard | None = None) -> None:
        self.rules = {(m, p.replace("<", "{").replace(">", "}")): r for (m, p), r in rules.items()}
        self._routes = {f"{m} {p}": route for (m, p), route in rules.items()}
        self._map = Map([Rule(p, endpoint=f"{m} {p}", methods=[m]) for (m, p) in rules])
        # Paths without parameters are found by a dict lookup, not werkzeug's matcher
        # (binding and matching cost more than the card alert's own logic).
        self._static = {(m, p): route for (m, p), route in rules.items() if "<" not in p}
        self._guard = guard

    @property
    def partner_signed(self) -> bool:
        """Whether callers must sign with a partner key (the OpenAPI document says so)."""
        return isinstance(self._guard, PartnerSigned)

    def routes(self) -> list[tuple[str, str]]:
        """(method, path) with werkzeug's <name> as OpenAPI's {name}."""
        return sorted(self.rules)

    def match(self, request: Request) -> tuple[str, Route, dict[str, Any]]:
        """The route for this method and path: its key ("PUT /ops/groups/{chat_id}"), the
        route, and the path arguments, each checked as a document id."""
        # A mount at the exact path (the local gateway) adds a trailing "/": not a new route.
        path = (request.script_root + request.path).rstrip("/") or "/"
        static = self._static.get((request.method, path))
        if static is not None:
            return f"{request.method} {path}", static, {}
        adapter = self._map.bind("siyu")
        try:
            endpoint, args = adapter.match(path, method=request.method)
        except RouteNotFound as exc:
            raise errors.NotFound(f"no route for {path}") from exc
        except MethodNotAllowed as exc:
            raise errors.MethodNotAllowed(f"{request.method} not allowed on {path}") from exc
        for name, value in args.items():  # every path parameter names a document
            problem = doc_id_problem(str(value))
            if problem:
                raise errors.InvalidInput(name, f"not a usable id: {problem}")
        key = endpoint.replace("<", "{").replace(">", "}")
        return key, self._routes[endpoint], dict(args)

    def dispatch(self, request: Request, max_bytes: int) -> Response:
        """Call the matching view with its path arguments and validated body and query."""
        _key, route, args = self.match(request)
        return self.invoke(request, route, args, read_body(request, route.max_bytes or max_bytes))

    def invoke(self, request: Request, route: Route, args: dict[str, Any], raw: bytes) -> Response:
        kwargs = dict(args)
        if self._guard:
            self._guard(request, raw)
        if route.body:
            kwargs["body"] = parse_json(raw, route.body)
        if route.query:
            kwargs["query"] = read_query(request, route.query)
        return route.respond(route.view(**kwargs))
