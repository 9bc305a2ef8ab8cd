"""Hostile input at every door: 4xx naming the field, nothing written, no 5xx."""

from __future__ import annotations

import json
import time

import pytest

from siyu.domain.partner_auth import signed_headers
from tests.callbacks import contact_event, crypto_from_env, sign

from .conftest import client
from .test_card_alert import KEY_ID, SECRET, alert

AUTH = {"Authorization": "Bearer test-ops"}


@pytest.fixture
def wired(fakes, monkeypatch):
    """Every function here on fakes: a refusal must leave `fakes.written()` empty."""
    monkeypatch.setenv("SIYU_PARTNER_KEYS", f"{KEY_ID}:{SECRET}")
    monkeypatch.setenv("SIYU_OPS_TOKEN", "test-ops")
    fakes.install()
    return fakes


@pytest.fixture
def cards(wired):
    app = client("card_alert")

    def post(body: object, headers: dict[str, str] | None = None):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        sent = headers or signed_headers(KEY_ID, SECRET.encode(), data, time.time())
        return app.post("/card-alert", data=data, headers=sent)

    return post


@pytest.fixture
def ops(wired):
    return client("ops_api")


@pytest.fixture
def callback(wired):
    return client("wecom_callback")


# -- 1. identifiers that would become document ids --------------------------------------


@pytest.mark.parametrize("bad", ["__x__", "__name__", ".", "..", "a" * 1501])
def test_card_alert_ids_firestore_cannot_store_are_400(cards, wired, bad: str) -> None:
    r = cards(alert(customer=bad))
    assert r.status_code == 400 and r.json["field"] == "bank_customer_id"
    assert wired.written() == []


@pytest.mark.parametrize(
    "path",
    [
        "/ops/customers/__x__",
        "/ops/customers/..",
        "/ops/groups/__name__",
        "/ops/bank-customers/.",
        "/ops/tag-rules/__x__",
        "/ops/campaigns/__x__",
    ],
)
def test_ops_path_ids_are_checked_before_anything_runs(ops, path: str) -> None:
    r = ops.get(path, headers=AUTH)
    assert r.status_code == 400 and r.json["message"].startswith(r.json["field"])


def test_a_tag_rule_with_a_reserved_id_creates_nothing_in_wecom(ops, wired) -> None:
    rule = {
        "tag": {"group": "兴趣", "name": "基金"},
        "when": {"field": "aggregates.products", "op": "contains", "value": "fund"},
    }
    r = ops.put("/ops/tag-rules/__x__", headers=AUTH, json=rule)
    assert r.status_code == 400 and r.json["field"] == "rule_id"
    assert wired.wecom.tags == [] and wired.written() == []


def test_transfer_customers_with_a_slash_are_400(ops) -> None:
    body = {"from_userid": "a", "to_userid": "b", "resigned": True, "customers": ["x/evil"]}
    r = ops.post("/ops/transfers", headers=AUTH, json=body)
    assert r.status_code == 400 and r.json["field"] == "customers.0"


def test_a_callback_id_that_cannot_be_stored_is_acknowledged_and_stores_nothing(
    callback, wired
) -> None:
    cb = sign(contact_event(ExternalUserID="x/evil/pwned", WelcomeCode=""))
    r = callback.post("/", query_string=cb.params, data=cb.body)
    assert (r.status_code, r.data) == (200, b"success")  # WeCom would retry anything else
    assert wired.written() == []


# -- 2. nothing crashes before the signature is checked ----------------------------------


@pytest.mark.parametrize(
    "encoding", ["GBK", "GB2312", "GB18030", "Big5", "Shift_JIS", "EUC-KR", "UTF-32", "x-nope"]
)
def test_an_envelope_in_another_encoding_is_400(callback, encoding: str) -> None:
    cb = sign(contact_event())
    body = f'<?xml version="1.0" encoding="{encoding}"?><xml><Encrypt>a</Encrypt></xml>'
    r = callback.post("/", query_string=cb.params, data=body.encode())
    assert r.status_code == 400 and r.json["field"] == "body"
    assert "Traceback" not in r.get_data(as_text=True)


@pytest.mark.parametrize("stamp", ["²", "1" * 5000, "-5", "1e9", "１７００"])
def test_a_partner_timestamp_that_is_not_unix_seconds_is_401(cards, wired, stamp: str) -> None:
    data = json.dumps(alert()).encode()
    headers = {**signed_headers(KEY_ID, SECRET.encode(), data, time.time())}
    headers["X-Siyu-Timestamp"] = stamp
    r = cards(data, headers=headers)
    assert r.status_code == 401 and wired.written() == []


def test_an_unknown_key_id_reads_like_a_bad_signature(cards) -> None:
    data = json.dumps(alert()).encode()
    good = signed_headers(KEY_ID, SECRET.encode(), data, time.time())
    unknown = cards(data, headers={**good, "X-Siyu-Key-Id": "nobody"})
    forged = cards(data, headers={**good, "X-Siyu-Signature": "0" * 64})
    assert unknown.status_code == forged.status_code == 401
    assert unknown.json["message"] == forged.json["message"]


# -- 3. depth and size --------------------------------------------------------------------


def test_json_nested_10000_deep_is_400(cards, ops) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    r = cards(deep)
    assert r.status_code == 400 and r.json["field"] == "body"
    r = ops.put("/ops/channels/c1", headers=AUTH, data=deep, content_type="application/json")
    assert r.status_code == 400 and "nested" in r.json["message"]


def test_a_tag_rule_condition_nests_at_most_8_levels(ops, wired) -> None:
    leaf: dict = {"field": "aggregates.purchase_count", "op": ">=", "value": 1}
    for _ in range(9):
        leaf = {"not": leaf}
    rule = {"tag": {"group": "兴趣", "name": "深"}, "when": leaf}
    r = ops.put("/ops/tag-rules/deep", headers=AUTH, json=rule)
    assert r.status_code == 400 and r.json["field"] == "when"
    assert wired.wecom.tags == [] and wired.written() == []


def test_a_4300_digit_integer_in_a_callback_is_acknowledged(callback, wired) -> None:
    cb = sign(contact_event(CreateTime="9" * 5000))
    assert callback.post("/", query_string=cb.params, data=cb.body).status_code == 200
    assert wired.written() == []


def test_an_echostr_that_is_not_utf8_is_400(callback) -> None:
    crypto = crypto_from_env()
    echo = crypto.encrypt(b"\xff\xfe\xfa")
    ts = str(int(time.time()))
    query = {"msg_signature": crypto.sign(ts, "n", echo), "timestamp": ts, "nonce": "n"}
    r = callback.get("/", query_string={**query, "echostr": echo})
    assert r.status_code == 400 and r.json["field"] == "echostr"


@pytest.mark.parametrize(
    ("start", "end"), [("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")]
)
def test_a_funnel_window_out_of_range_is_400(ops, start: str, end: str) -> None:
    r = ops.get(f"/ops/reports/funnel?from={start}&to={end}&by=channel", headers=AUTH)
    assert r.status_code == 400 and r.json["field"] in {"from", "to"}


def test_a_channel_tag_with_an_empty_name_is_400(ops) -> None:
    body = {"name": "n", "welcome_text": "w", "tags": [{"group": "渠道", "name": ""}]}
    r = ops.put("/ops/channels/c1", headers=AUTH, json=body)
    assert r.status_code == 400 and r.json["field"] == "tags.0.name"


def test_an_unknown_chat_on_put_group_is_400(ops, wired) -> None:
    body = {
        "name": "n",
        "owner_userid": "zhangsan",
        "city": "上海",
        "kind": "food",
        "lat": 31.2,
        "lng": 121.4,
        "coord_system": "wgs84",
    }
    r = ops.put("/ops/groups/wr_unknown_to_wecom", headers=AUTH, json=body)
    assert r.status_code == 400 and r.json["field"] == "chat_id"
    assert wired.written() == []


# -- 5. strictness ------------------------------------------------------------------------


def test_card_alert_needs_an_offset_and_refuses_unknown_fields(cards) -> None:
    r = cards({**alert(), "occurred_at": "2026-11-23T12:00:00"})
    assert r.status_code == 400 and r.json["field"] == "occurred_at"
    r = cards({**alert(), "surprise": 1})
    assert r.status_code == 400 and r.json["field"] == "surprise"
    body = alert()
    body["merchant"]["extra"] = "x"
    r = cards(body)
    assert r.status_code == 400 and r.json["field"] == "merchant.extra"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_the_callback_takes_only_get_and_post(callback, method: str) -> None:
    cb = sign(contact_event())
    r = callback.open("/", method=method, query_string=cb.params, data=cb.body)
    assert r.status_code == 405


@pytest.mark.parametrize(
    "header", ["test-ops", "Token test-ops", "bearer test-ops", "Basic test-ops"]
)
def test_the_ops_token_needs_the_bearer_scheme(ops, header: str) -> None:
    r = ops.get("/ops/customers/x", headers={"Authorization": header})
    assert r.status_code == 401
