"""Build callbacks exactly as WeCom sends them, for tests that stand in for WeCom."""

from __future__ import annotations

import time
from dataclasses import dataclass

from siyu.adapters.wecom.crypto import WeComCrypto
from siyu.adapters.wecom.events import render_envelope, render_event
from siyu.config import Settings


@dataclass
class SignedCallback:
    params: dict[str, str]
    body: bytes


def crypto_from_env() -> WeComCrypto:
    s = Settings()
    return WeComCrypto(s.secret("wecom_token"), s.secret("wecom_aes_key"), s.wecom_corp_id)


def contact_event(change_type: str = "add_external_contact", **fields: str | int) -> dict:
    base: dict[str, str | int] = {
        "ToUserName": Settings().wecom_corp_id,
        "FromUserName": "sys",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": change_type,
        "UserID": "zhangsan",
        "ExternalUserID": "wm_ext_1",
    }
    return {**base, **fields}


def sign(
    fields: dict,
    crypto: WeComCrypto | None = None,
    timestamp: int | None = None,
    nonce: str = "1234567",
) -> SignedCallback:
    crypto = crypto or crypto_from_env()
    encrypted = crypto.encrypt(render_event(fields))
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return SignedCallback(
        params={
            "msg_signature": crypto.sign(ts, nonce, encrypted),
            "timestamp": ts,
            "nonce": nonce,
        },
        body=render_envelope(Settings().wecom_corp_id, encrypted),
    )
