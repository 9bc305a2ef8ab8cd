"""wecom_callback through functions_framework.create_app against the emulators and simulator."""

from __future__ import annotations

import time

import pytest
from functions_framework import create_app
from google.cloud import firestore

from siyu.devstack.registry import FUNCTIONS
from tests.callbacks import contact_event, crypto_from_env, sign

SOURCE = next(f for f in FUNCTIONS if f.name == "wecom_callback").source


@pytest.fixture
def client(cloud, wecom_sim):
    return create_app("wecom_callback", str(SOURCE), "http").test_client()


def documents() -> list[str]:
    db = firestore.Client()
    return [d.reference.path for c in db.collections() for d in c.stream()]


def test_url_verification_answers_the_plain_echo(client) -> None:
    crypto = crypto_from_env()
    echo = crypto.encrypt(b"1616140317555161061")
    ts = str(int(time.time()))
    r = client.get(
        "/",
        query_string={
            "msg_signature": crypto.sign(ts, "n1", echo),
            "timestamp": ts,
            "nonce": "n1",
            "echostr": echo,
        },
    )
    assert r.status_code == 200
    assert r.data == b"1616140317555161061"  # no quotes, BOM or newline


def test_event_is_published_once_and_acknowledged(client, cloud, wecom_sim) -> None:
    cb = sign(contact_event(WelcomeCode="", ExternalUserID="wm_f1"))
    trace = {"X-Cloud-Trace-Context": "4bf92f3577b34da6a3ce929d0e0e4736/1;o=1"}
    for _ in range(3):
        r = client.post("/", query_string=cb.params, data=cb.body, headers=trace)
        assert (r.status_code, r.data) == (200, b"success")
    messages = cloud.pull()
    assert len(messages) == 1
    assert messages[0].ordering_key == "customer:wm_f1"
    assert b'"change_type":"add_external_contact"' in messages[0].data
    # The worker will log under the same id as the callback did.
    assert messages[0].attributes["correlation_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_forged_signature_is_403_and_writes_nothing(client, cloud) -> None:
    cb = sign(contact_event())
    cb.params["msg_signature"] = "f" * 40
    r = client.post("/", query_string=cb.params, data=cb.body)
    assert r.status_code == 403
    assert documents() == [] and cloud.pull(timeout=2) == []


def test_foreign_corp_is_403(client, cloud) -> None:
    from siyu.adapters.wecom.crypto import WeComCrypto
    from siyu.config import Settings

    s = Settings()
    other = WeComCrypto(
        s.wecom_token.get_secret_value(), s.wecom_aes_key.get_secret_value(), "ww_other_corp"
    )
    cb = sign(contact_event(), crypto=other)
    assert client.post("/", query_string=cb.params, data=cb.body).status_code == 403
    assert documents() == []


def test_stale_timestamp_is_403_unless_the_window_is_disabled(client, monkeypatch) -> None:
    cb = sign(contact_event(WelcomeCode=""), timestamp=int(time.time()) - 3600)
    assert client.post("/", query_string=cb.params, data=cb.body).status_code == 403
    monkeypatch.setenv("SIYU_WECOM_REPLAY_WINDOW_S", "0")
    from siyu import bootstrap

    bootstrap.reset()
    assert client.post("/", query_string=cb.params, data=cb.body).status_code == 200


def test_malformed_xml_is_400_naming_the_problem(client) -> None:
    cb = sign(contact_event())
    r = client.post("/", query_string=cb.params, data=b"<xml><Encrypt>")
    assert r.status_code == 400 and r.json["field"] == "body"


def test_missing_query_field_is_400_naming_it(client) -> None:
    r = client.post("/", query_string={"timestamp": "1", "nonce": "n"}, data=b"<xml/>")
    assert r.status_code == 400 and r.json["field"] == "msg_signature"


def test_body_over_one_mebibyte_is_413(client) -> None:
    cb = sign(contact_event())
    r = client.post("/", query_string=cb.params, data=b"<xml>" + b" " * (1024 * 1024) + b"</xml>")
    assert r.status_code == 413
