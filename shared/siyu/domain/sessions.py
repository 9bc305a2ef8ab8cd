"""Ops sessions after a WeCom web login: a random id in a signed cookie, the session itself
kept server-side so that logging out (or an admin's revocation) ends it at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from siyu.domain.model import Model

SESSION_COOKIE = "siyu_session"
STATE_COOKIE = "siyu_login_state"
SEEN_EVERY = timedelta(minutes=1)  # last_seen is written at most this often per session


class Session(Model):
    id: str
    userid: str
    created_at: datetime
    last_seen: datetime
    expire_at: datetime  # absolute expiry; also the document's TTL

    def alive(self, now: datetime, idle: timedelta) -> bool:
        """Within its absolute lifetime and used within the idle window."""
        return now < self.expire_at and now - self.last_seen < idle

    def due_touch(self, now: datetime) -> bool:
        return now - self.last_seen >= SEEN_EVERY


def new_session(userid: str, now: datetime, lifetime: timedelta) -> Session:
    return Session(
        id=secrets.token_urlsafe(24),
        userid=userid,
        created_at=now,
        last_seen=now,
        expire_at=now + lifetime,
    )


def _mac(value: str, secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def signed(value: str, secret: str, purpose: str) -> str:
    """`value.mac`: the cookie cannot be forged or moved to another purpose without the secret."""
    return f"{value}.{_mac(value, secret, purpose)}"


def unsigned(token: str, secret: str, purpose: str) -> str | None:
    """The value of a signed token, or None when its signature does not hold."""
    value, _, mac = token.rpartition(".")
    if not value or not hmac.compare_digest(mac.encode(), _mac(value, secret, purpose).encode()):
        return None
    return value


def new_state() -> str:
    """The login's `state`, echoed back by WeCom and compared with the browser's cookie (CSRF)."""
    return secrets.token_urlsafe(16)
