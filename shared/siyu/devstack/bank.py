"""The bank's systems as the local stack sees them: signed business events on /events."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx

from siyu.devstack.stack import StackConfig
from siyu.domain.partner_auth import signed_headers


class BankSystems:
    def __init__(self, cfg: StackConfig, key_id: str = "local-bank") -> None:
        self.url = f"{cfg.gateway_url}/events"
        self.key_id, self.secret = cfg.partner(key_id)
        self.started, self.sent = time.time(), itertools.count()

    def post(self, kind: str, payload: dict[str, Any]) -> httpx.Response:
        """One event; each POST is signed anew (one second apart), so a resend is no replay."""
        body = json.dumps({"type": kind, "payload": payload}).encode()
        stamp = self.started + next(self.sent)
        headers = signed_headers(self.key_id, self.secret, body, stamp)
        return httpx.post(self.url, content=body, headers=headers, timeout=30)
