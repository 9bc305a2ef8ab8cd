"""HMAC-SHA256 request signatures for machine callers (/card-alert, /events).

The caller signs "{timestamp}.{raw body}" with its key and sends X-Siyu-Key-Id,
X-Siyu-Timestamp and X-Siyu-Signature (hex). Every failure is Unauthorized with a reason
and happens before the body is even parsed, so a bad request has no side effect.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Mapping

from siyu.domain.errors import Unauthorized

KEY_ID_HEADER = "X-Siyu-Key-Id"
TIMESTAMP_HEADER = "X-Siyu-Timestamp"
SIGNATURE_HEADER = "X-Siyu-Signature"
_MAX_STAMP_DIGITS = 12
_NO_KEY = b"\x00" * 32  # stands in for an unknown key id so both cases take the same path


def parse_keys(spec: str) -> dict[str, bytes]:
    """`id:secret,id:secret` → {id: secret}; a malformed entry is a configuration error."""
    keys: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, secret = entry.partition(":")
        if not sep or not key_id or len(secret) < 16:
            raise ValueError(
                f"SIYU_PARTNER_KEYS entry {key_id or '?'!r} must be id:secret, secret ≥ 16 chars"
            )
        keys[key_id] = secret.encode()
    return keys


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    return hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signed_headers(key_id: str, secret: bytes, body: bytes, now: float) -> dict[str, str]:
    """What a caller sends: used by the local stack's scenario, the bench and the tests."""
    stamp = str(int(now))
    return {
        KEY_ID_HEADER: key_id,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "application/json",
    }


class PartnerAuth:
    """Verifies signatures and remembers the ones seen inside the window to refuse replays.

    The replay memory is per instance. A replay that reaches another instance lands on an
    idempotent handler (same txn_id → same answer, same event_id → nothing new), so it
    changes nothing; refusing it everywhere would cost a Firestore write per request.
    """

    def __init__(self, keys: Mapping[str, bytes], window_s: int, max_remembered: int = 200_000):
        self._keys = dict(keys)
        self._window = window_s
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max = max_remembered
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> str:
        """Return the caller's key id, or raise Unauthorized naming what is wrong."""
        key_id = headers.get(KEY_ID_HEADER, "")
        stamp = headers.get(TIMESTAMP_HEADER, "")
        given = headers.get(SIGNATURE_HEADER, "").strip().lower()
        if not key_id or not stamp or not given:
            raise Unauthorized(
                f"missing {KEY_ID_HEADER}, {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header"
            )
        # ASCII digits only ("²".isdigit() is True) and no more than unix seconds need.
        if not (stamp.isascii() and stamp.isdecimal() and len(stamp) <= _MAX_STAMP_DIGITS):
            raise Unauthorized(f"{TIMESTAMP_HEADER} must be unix seconds")
        if abs(now - int(stamp)) > self._window:
            raise Unauthorized(f"timestamp outside the {self._window}-s window")
        # An unknown key id reads exactly like a wrong signature: no key ids to probe for.
        secret = self._keys.get(key_id, _NO_KEY)
        expected = sign(secret, stamp, body).encode()
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected) or (
            secret is _NO_KEY
        ):
            raise Unauthorized("signature does not match")
        with self._lock:
            self._forget_before(now - self._window)
            if given in self._seen:
                raise Unauthorized("replayed signature")
            self._seen[given] = int(stamp)
            if len(self._seen) > self._max:
                self._seen.popitem(last=False)
        return key_id

    def _forget_before(self, cutoff: float) -> None:
        while self._seen:
            oldest, stamp = next(iter(self._seen.items()))
            if stamp >= cutoff:
                break
            del self._seen[oldest]
