"""Open WeCom callbacks: signature, decryption and XML parsing behind one object."""

from __future__ import annotations

import hashlib

from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.adapters.wecom.events import parse_envelope, parse_event
from siyu.domain.errors import InvalidInput
from siyu.domain.events import Acknowledged, WeComEvent
from siyu.domain.intake import CallbackQuery


class CallbackCodec:
    def __init__(self, crypto: WeComCrypto) -> None:
        self._crypto = crypto

    def open_echo(self, query: CallbackQuery, echostr: str) -> str:
        plain = self._crypto.verify_and_decrypt(
            query.msg_signature, query.timestamp, query.nonce, echostr
        )
        try:
            return plain.decode()
        except UnicodeDecodeError as exc:
            raise InvalidInput("echostr", "does not decrypt to UTF-8 text") from exc

    def open_event(self, query: CallbackQuery, body: bytes) -> WeComEvent | Acknowledged:
        """A bad envelope or signature raises; once signed and decrypted, WeCom has said
        something, so a message siyu cannot use is acknowledged, never refused (90238)."""
        encrypted = parse_envelope(body)
        inner = self._crypto.verify_and_decrypt(
            query.msg_signature, query.timestamp, query.nonce, encrypted
        )
        delivery = hashlib.sha256(
            f"{query.msg_signature}|{query.timestamp}|{query.nonce}".encode()
        ).hexdigest()
        try:
            return parse_event(inner, delivery)
        except InvalidInput as exc:
            return Acknowledged(reason=f"unusable event: {exc}")
