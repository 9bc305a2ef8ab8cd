"""Open WeCom callbacks: signature, decryption and XML parsing behind one object."""

from __future__ import annotations

from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.adapters.wecom.events import parse_envelope, parse_event
from siyu.domain.events import WeComEvent
from siyu.domain.intake import CallbackQuery


class CallbackCodec:
    def __init__(self, crypto: WeComCrypto) -> None:
        self._crypto = crypto

    def open_echo(self, query: CallbackQuery, echostr: str) -> str:
        plain = self._crypto.verify_and_decrypt(
            query.msg_signature, query.timestamp, query.nonce, echostr
        )
        return plain.decode()

    def open_event(self, query: CallbackQuery, body: bytes) -> WeComEvent:
        encrypted = parse_envelope(body)
        inner = self._crypto.verify_and_decrypt(
            query.msg_signature, query.timestamp, query.nonce, encrypted
        )
        return parse_event(inner)
