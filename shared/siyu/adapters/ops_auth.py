"""Who is calling the ops API: a WeCom member's session cookie, a service account's Google
ID token (verified here: API Gateway forwards both untouched), or locally the shared token."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Literal

from flask import Request, Response

from siyu.config import Settings
from siyu.domain.access import ALL_BRANCHES, Principal, Role
from siyu.domain.errors import Unauthorized
from siyu.domain.sessions import SESSION_COOKIE, STATE_COOKIE, signed, unsigned
from siyu.services.access import OpsAccess

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")


@dataclass(frozen=True)
class Caller:
    principal: Principal
    kind: Literal["member", "service"]
    session_id: str = ""


def authenticate(request: Request, settings: Settings, access: OpsAccess) -> Caller:
    """A session cookie first (a browser), then the Authorization header (a machine)."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        session_id = unsigned(cookie, _secret(settings), SESSION_COOKIE)
        if session_id is None:
            raise Unauthorized("the session cookie's signature does not hold")
        return Caller(access.session_principal(session_id), "member", session_id)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not token.strip():
        raise Unauthorized("sign in with WeCom, or send a Bearer token")
    if settings.ops_auth == "google":
        email = google_identity(token.strip(), settings.ops_audience, settings.ops_certs_url)
        return Caller(access.principal(email), "service")
    return Caller(_token_principal(token.strip(), settings), "service")


def _token_principal(given: str, settings: Settings) -> Principal:
    """Local stand-in for Google identity: the shared token is an admin service identity."""
    expected = settings.ops_token.get_secret_value() if settings.ops_token else ""
    if not expected:
        raise Unauthorized("SIYU_OPS_TOKEN is not configured; ops API is closed")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        raise Unauthorized("missing or wrong bearer token")
    return Principal(
        id=settings.token_identity,
        kind="service",
        role=Role.ADMIN,
        branches=frozenset({ALL_BRANCHES}),
    )


def google_identity(token: str, audience: str, certs_url: str) -> str:
    """The verified email of a Google ID token minted for `audience`."""
    from google.auth import exceptions
    from google.oauth2 import id_token

    if not audience:
        raise Unauthorized("SIYU_OPS_AUDIENCE is not configured; ops API is closed")
    try:
        claims: dict[str, Any] = dict(
            id_token.verify_token(token, _transport(), audience=audience, certs_url=certs_url)
        )
    except (ValueError, exceptions.GoogleAuthError) as exc:
        raise Unauthorized(f"the ID token is not valid: {exc}") from exc
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise Unauthorized("the ID token is not Google's")
    if not claims.get("email") or not claims.get("email_verified"):
        raise Unauthorized("the ID token names no verified email")
    return str(claims["email"])


@lru_cache(maxsize=1)
def _transport() -> Any:
    import google.auth.transport.requests

    return google.auth.transport.requests.Request()


def _secret(settings: Settings) -> str:
    return settings.secret("session_secret")


def set_cookie(
    response: Response, settings: Settings, name: str, value: str, max_age: timedelta
) -> None:
    """Signed, HttpOnly, Secure, SameSite=Lax: sent on the top-level return from WeCom's
    login page, never on another site's POST; scripts cannot read it."""
    response.set_cookie(
        name,
        signed(value, _secret(settings), name),
        max_age=int(max_age.total_seconds()),
        path="/ops",
        secure=True,
        httponly=True,
        samesite="Lax",
    )


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/ops", secure=True, httponly=True, samesite="Lax")


def login_state(request: Request, settings: Settings) -> str | None:
    """The state this browser was sent to WeCom with, if its cookie holds."""
    cookie = request.cookies.get(STATE_COOKIE, "")
    return unsigned(cookie, _secret(settings), STATE_COOKIE) if cookie else None
