"""WeCom callback cryptography: the msg_signature check and AES-256-CBC envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from siyu.domain.errors import Forbidden, InvalidInput

_BLOCK = 32  # WeCom pads PKCS#7 to 32 bytes, not AES's 16.


class CallbackError(Exception):
    """A callback that fails WeCom's envelope rules; `code` is the official sample's code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """WeCom's msg_signature: sha1 over the four values sorted and joined."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """Decode the 43-character EncodingAESKey into the 32-byte AES key."""
    if len(encoding_aes_key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    key = base64.b64decode(encoding_aes_key + "=")
    if len(key) != 32:
        raise ValueError("EncodingAESKey must decode to 32 bytes")
    return key


class WeComCrypto:
    """Verify, decrypt and encrypt callback payloads for one receive id (corp id)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self._token = token
        self._key = aes_key(encoding_aes_key)
        self._iv = self._key[:16]
        self._receive_id = receive_id.encode()

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected, msg_signature.lower()):
            raise Forbidden("-40001 msg_signature does not match")

    def decrypt(self, encrypted: str) -> bytes:
        """Return the message bytes; raise Forbidden for a foreign receive id."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except ValueError as exc:
            raise InvalidInput("Encrypt", "-40010 base64 decoding failed") from exc
        if not raw or len(raw) % 16:
            raise InvalidInput("Encrypt", "-40007 ciphertext is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise InvalidInput("Encrypt", "-40007 bad PKCS#7 padding")
        body = plain[16:-pad]
        if len(body) < 4:
            raise InvalidInput("Encrypt", "-40008 plaintext too short")
        (length,) = struct.unpack(">I", body[:4])
        message, receive_id = body[4 : 4 + length], body[4 + length :]
        if len(message) != length:
            raise InvalidInput("Encrypt", "-40008 message length exceeds plaintext")
        if not hmac.compare_digest(receive_id, self._receive_id):
            raise Forbidden("-40005 receive id is not ours")
        return message

    def verify_and_decrypt(
        self, msg_signature: str, timestamp: str, nonce: str, encrypted: str
    ) -> bytes:
        self.verify(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        """Encrypt as WeCom does; the simulator and tests use this to act as WeCom."""
        prefix = random16 if random16 is not None else os.urandom(16)
        body = prefix + struct.pack(">I", len(message)) + message + self._receive_id
        pad = _BLOCK - len(body) % _BLOCK
        body += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self._token, timestamp, nonce, encrypted)
