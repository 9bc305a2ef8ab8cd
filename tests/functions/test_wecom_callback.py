"""wecom_callback through functions_framework.create_app against the emulators and simulator."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from siyu.adapters.wecom.events import render_envelope
from siyu.config import Settings
from siyu.devstack.procs import free_port
from siyu.domain.events import WeComEvent
from tests.callbacks import contact_event, crypto_from_env, sign
from tests.docs_examples import CUSTOMER_EVENTS, OTHER_MESSAGES, xml

from .conftest import client as function_client


@pytest.fixture
def client(cloud, wecom_sim):
    """The callback on the emulators and the WeCom simulator."""
    return function_client("wecom_callback")


@pytest.fixture
def refusing(fakes):
    """The callback on fakes: what it refuses must leave `fakes.written()` empty."""
    fakes.install()
    return function_client("wecom_callback")


def documents() -> list[str]:
    db = firestore.Client()
    return [d.reference.path for c in db.collections() for d in c.stream()]


def test_url_verification_answers_the_plain_echo(refusing, fakes) -> None:
    crypto = crypto_from_env()
    echo = crypto.encrypt(b"1616140317555161061")
    ts = str(int(time.time()))
    r = refusing.get(
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
    assert fakes.written() == []


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


def test_forged_signature_is_403_and_writes_nothing(refusing, fakes) -> None:
    cb = sign(contact_event())
    cb.params["msg_signature"] = "f" * 40
    r = refusing.post("/", query_string=cb.params, data=cb.body)
    assert r.status_code == 403
    assert fakes.written() == []


def test_foreign_corp_is_403(refusing, fakes) -> None:
    from siyu.adapters.wecom.crypto import WeComCrypto
    from siyu.config import Settings

    s = Settings()
    other = WeComCrypto(s.secret("wecom_token"), s.secret("wecom_aes_key"), "ww_other_corp")
    cb = sign(contact_event(), crypto=other)
    assert refusing.post("/", query_string=cb.params, data=cb.body).status_code == 403
    assert fakes.written() == []


def test_stale_timestamp_is_403_unless_the_window_is_disabled(refusing, fakes) -> None:
    cb = sign(contact_event(WelcomeCode=""), timestamp=int(time.time()) - 3600)
    assert refusing.post("/", query_string=cb.params, data=cb.body).status_code == 403
    assert fakes.written() == []
    fakes.install(wecom_replay_window_s=0)
    assert refusing.post("/", query_string=cb.params, data=cb.body).status_code == 200
    assert len(fakes.topic("wecom-events").published) == 1


def test_malformed_xml_is_400_naming_the_problem(refusing) -> None:
    cb = sign(contact_event())
    r = refusing.post("/", query_string=cb.params, data=b"<xml><Encrypt>")
    assert r.status_code == 400 and r.json["field"] == "body"


def test_missing_query_field_is_400_naming_it(refusing) -> None:
    r = refusing.post("/", query_string={"timestamp": "1", "nonce": "n"}, data=b"<xml/>")
    assert r.status_code == 400 and r.json["field"] == "msg_signature"


def test_body_over_one_mebibyte_is_413(refusing) -> None:
    cb = sign(contact_event())
    r = refusing.post("/", query_string=cb.params, data=b"<xml>" + b" " * (1024 * 1024) + b"</xml>")
    assert r.status_code == 413


def documents_in(collection: str) -> list[dict[str, Any]]:
    return [d.to_dict() or {} for d in firestore.Client().collection(collection).stream()]


def signed_example(name: str, **overrides: str) -> tuple[dict[str, str], bytes]:
    """A doc example as WeCom would send it to this corp: encrypted and signed now."""
    crypto = crypto_from_env()
    inner = xml(name)
    for tag, value in overrides.items():
        inner = re.sub(rf"<{tag}>.*?</{tag}>".encode(), f"<{tag}>{value}</{tag}>".encode(), inner)
    encrypted = crypto.encrypt(inner)
    ts, nonce = str(int(time.time())), "1372623149"
    params = {"msg_signature": crypto.sign(ts, nonce, encrypted), "timestamp": ts, "nonce": nonce}
    return params, render_envelope(Settings().wecom_corp_id, encrypted, "1")


@pytest.mark.parametrize("name", OTHER_MESSAGES)
def test_every_app_message_and_event_is_acknowledged_and_changes_nothing(
    client, cloud, name: str
) -> None:
    params, body = signed_example(name)
    r = client.post("/", query_string=params, data=body)
    assert (r.status_code, r.data) == (200, b"success")
    assert documents() == [] and cloud.pull(timeout=2) == []


@pytest.mark.parametrize("name", CUSTOMER_EVENTS)
def test_every_documented_customer_event_is_stored_and_published(client, cloud, name: str) -> None:
    params, body = signed_example(name, CreateTime=str(int(time.time())))
    r = client.post("/", query_string=params, data=body)
    assert (r.status_code, r.data) == (200, b"success")
    [message] = cloud.pull()
    assert [d["status"] for d in documents_in("inbox")] == ["published"]
    assert json.loads(message.data)["change_type"] in name or name.startswith("92130_")


def test_wecoms_own_sample_message_is_acknowledged(client, cloud, monkeypatch) -> None:
    """The 90968 sample (msg_signature 477715d1…f3e6, ts 1409659813) with its own keys."""
    vectors = json.loads((Path(__file__).parents[1] / "data/wecom_vectors.json").read_text())
    monkeypatch.setenv("SIYU_WECOM_TOKEN", vectors["token"])
    monkeypatch.setenv("SIYU_WECOM_AES_KEY", vectors["encoding_aes_key"])
    monkeypatch.setenv("SIYU_WECOM_CORP_ID", vectors["receive_id"])
    monkeypatch.setenv("SIYU_WECOM_REPLAY_WINDOW_S", "0")  # the sample is from 2014
    from siyu import bootstrap

    bootstrap.reset()
    sample = vectors["message"]
    params = {k: sample[k] for k in ("msg_signature", "timestamp", "nonce")}
    r = client.post("/", query_string=params, data=sample["body"].encode())
    assert (r.status_code, r.data) == (200, b"success")
    assert documents() == [] and cloud.pull(timeout=2) == []


def test_an_empty_element_is_absent_not_a_400(client, cloud) -> None:
    fields = {
        "ToUserName": Settings().wecom_corp_id,
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "change_external_chat",
        "ChangeType": "update",
        "ChatId": "wr_empty",
        "UpdateDetail": "del_member",
        "QuitScene": "",
        "MemChangeCnt": 1,
    }
    cb = sign(fields)
    assert client.post("/", query_string=cb.params, data=cb.body).status_code == 200
    [message] = cloud.pull()
    assert json.loads(message.data)["quit_scene"] is None


def test_a_signed_event_siyu_cannot_use_is_acknowledged_not_refused(client, cloud) -> None:
    cb = sign(contact_event(CreateTime="not-a-number"))
    assert client.post("/", query_string=cb.params, data=cb.body).status_code == 200
    assert documents() == [] and cloud.pull(timeout=2) == []


def test_with_pubsub_unreachable_the_event_is_kept_and_processed_later_once(
    client, cloud, wecom_sim, monkeypatch
) -> None:
    from siyu import bootstrap

    live = os.environ["PUBSUB_EMULATOR_HOST"]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")  # nobody there
    monkeypatch.setenv("SIYU_INBOX_SWEEP_MIN_AGE_S", "0")
    bootstrap.reset()
    wecom_sim.sim.prepare_event(contact_event(ExternalUserID="wm_kept", WelcomeCode=""))
    cb = sign(contact_event(WelcomeCode="", ExternalUserID="wm_kept"))
    r = client.post("/", query_string=cb.params, data=cb.body)
    assert (r.status_code, r.data) == (200, b"success")  # the inbox holds it
    [entry] = documents_in("inbox")
    assert entry["status"] == "pending" and "publish" in entry["reason"]
    # The event as its JSON text, the contact beside it (erasure looks it up there).
    assert WeComEvent.model_validate_json(entry["event"]).external_user_id == "wm_kept"
    assert entry["external_user_id"] == "wm_kept"

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", live)  # Pub/Sub is back
    bootstrap.reset()
    assert cloud.pull(timeout=2) == []
    assert bootstrap.root().inbox_sweeper().sweep() == 1
    assert bootstrap.root().inbox_sweeper().sweep() == 0
    r = client.post("/", query_string=cb.params, data=cb.body)  # WeCom's retry, if any
    assert r.status_code == 200
    [message] = cloud.pull()
    event = WeComEvent.model_validate_json(message.data)
    assert bootstrap.root().processor().handle(event) is True
    assert bootstrap.root().processor().handle(event) is False  # redelivered: changes nothing
    [customer] = documents_in("customers")
    assert customer["external_userid"] == "wm_kept"
    assert [d["status"] for d in documents_in("inbox")] == ["published"]


def test_an_entry_stored_with_its_event_as_a_map_is_still_swept(client, cloud, monkeypatch) -> None:
    """Entries written before the event was stored as text live until their TTL (7 days)."""
    from siyu import bootstrap

    monkeypatch.setenv("SIYU_INBOX_SWEEP_MIN_AGE_S", "0")
    bootstrap.reset()
    event = WeComEvent(
        event="change_external_contact",
        change_type="add_external_contact",
        user_id="zhangsan",
        external_user_id="wm_map",
        create_time=int(time.time()),
        raw_sha256="0" * 64,
    )
    firestore.Client().collection("inbox").document("cb-k-map").create(
        {
            "key": "cb-k-map",
            "status": "pending",
            "event": event.model_dump(mode="json"),
            "created_at": firestore.SERVER_TIMESTAMP,
        }
    )
    assert bootstrap.root().inbox_sweeper().sweep() == 1
    [message] = cloud.pull()
    assert WeComEvent.model_validate_json(message.data) == event
    assert [d["status"] for d in documents_in("inbox")] == ["published"]


def test_with_firestore_and_pubsub_both_down_the_callback_asks_for_a_retry(
    client, monkeypatch
) -> None:
    from siyu import bootstrap

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{free_port()}")
    bootstrap.reset()
    cb = sign(contact_event(WelcomeCode="", ExternalUserID="wm_lost"))
    assert client.post("/", query_string=cb.params, data=cb.body).status_code == 503
