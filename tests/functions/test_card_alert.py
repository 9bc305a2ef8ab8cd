"""card_alert through create_app: HMAC auth, validation naming the field, routing, idempotency."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from siyu import bootstrap
from siyu.domain.groups import GroupSpec
from siyu.domain.partner_auth import signed_headers

from .conftest import client

KEY_ID, SECRET = "cards", "card-alert-secret-0123456789"


def alert(txn: str = "t1", customer: str = "c1", **merchant: Any) -> dict[str, Any]:
    return {
        "txn_id": txn,
        "bank_customer_id": customer,
        "amount": "88.00",
        "currency": "CNY",
        "occurred_at": "2026-11-23T12:00:00+08:00",
        "merchant": {
            "name": "静安面馆",
            "mcc": "5812",
            "city": "上海",
            "lat": 31.2231,
            "lng": 121.4452,
            "coord_system": "wgs84",
            **merchant,
        },
    }


def _sender(app: Any) -> Any:
    def send(body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body).encode()
        sent = (
            headers
            if headers is not None
            else signed_headers(KEY_ID, SECRET.encode(), data, time.time())
        )
        return app.post("/card-alert", data=data, headers=sent)

    return send


KEYS = f"{KEY_ID}:{SECRET},other:another-secret-0123456"


@pytest.fixture
def post(cloud, wecom_sim, monkeypatch):
    """card_alert on the emulators and the WeCom simulator."""
    monkeypatch.setenv("SIYU_PARTNER_KEYS", KEYS)
    monkeypatch.setenv("SIYU_GROUP_INDEX_REFRESH_S", "0")
    return _sender(client("card_alert"))


@pytest.fixture
def refused(fakes, monkeypatch):
    """card_alert on fakes: a refusal must leave `fakes.written()` empty."""
    monkeypatch.setenv("SIYU_PARTNER_KEYS", KEYS)
    fakes.install()
    return _sender(client("card_alert"))


def register(sim, chat_id: str, lat: float, lng: float, **extra: Any) -> None:
    httpx.post(f"{sim.url}/_sim/groups", json={"chat_id": chat_id}, timeout=5).raise_for_status()
    spec = {
        "name": f"{chat_id}群",
        "owner_userid": "zhangsan",
        "city": "上海",
        "kind": "food",
        "lat": lat,
        "lng": lng,
        "coord_system": "wgs84",
        **extra,
    }
    bootstrap.root().group_admin().put(chat_id, GroupSpec.model_validate(spec))


def test_an_invite_to_the_nearest_group_with_its_join_url(post, wecom_sim) -> None:
    register(wecom_sim, "wr_jingan", 31.2235, 121.4455)
    register(wecom_sim, "wr_pudong", 31.2397, 121.4998)
    r = post(alert())
    assert r.status_code == 200, r.json
    invite = r.json["invite"]
    assert invite["group_id"] == "wr_jingan" and invite["distance_m"] < 100
    assert (
        invite["join_url"].startswith("https://wework.qpic.cn/") and "wr_jingan群" in invite["text"]
    )
    assert r.json["reason"] == "nearest_group_with_room"
    # A retry of the same txn a second later: a fresh signature, the same answer.
    data = json.dumps(alert()).encode()
    retry = signed_headers(KEY_ID, SECRET.encode(), data, time.time() + 1)
    assert post(None, headers=retry, raw=data).json == r.json


def test_gcj02_merchant_coordinates_are_converted_before_routing(post, wecom_sim) -> None:
    register(wecom_sim, "wr_jingan", 31.2235, 121.4455)
    # The same shop as Amap (GCJ-02) reports it: about 500 m off in raw degrees.
    r = post(alert(lat=31.22114, lng=121.44990, coord_system="gcj02"))
    assert r.json["invite"]["distance_m"] < 100


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "merchant": {
                    "name": "x",
                    "mcc": "5812",
                    "city": "上海",
                    "lat": 91,
                    "lng": 121,
                    "coord_system": "wgs84",
                }
            },
            "merchant.lat",
        ),
        (
            {
                "merchant": {
                    "name": "x",
                    "mcc": "5812",
                    "city": "上海",
                    "lat": 31,
                    "lng": 121,
                    "coord_system": "utm",
                }
            },
            "merchant.coord_system",
        ),
        ({"txn_id": None}, "txn_id"),
        ({"currency": "yuan"}, "currency"),
    ],
)
def test_bad_input_is_400_naming_the_field(refused, fakes, change, field) -> None:
    r = refused({**alert(), **change})
    assert r.status_code == 400 and r.json["field"] == field
    assert fakes.written() == []


def test_a_missing_field_is_400_naming_it(refused) -> None:
    body = alert()
    del body["merchant"]["lng"]
    r = refused(body)
    assert r.status_code == 400 and r.json["field"] == "merchant.lng"


def test_not_json_is_400(refused) -> None:
    assert refused(None, raw=b"{not json").json["field"] == "body"


def _forged(body: bytes) -> list[dict[str, str]]:
    good = signed_headers(KEY_ID, SECRET.encode(), body, time.time())
    return [
        {**good, "X-Siyu-Signature": "0" * 64},
        {**good, "X-Siyu-Key-Id": "nobody"},
        signed_headers(KEY_ID, SECRET.encode(), body, time.time() - 301),
        signed_headers("other", SECRET.encode(), body, time.time()),  # right key id, wrong key
        {k: v for k, v in good.items() if k != "X-Siyu-Timestamp"},
    ]


def test_bad_signatures_are_401_with_a_reason_and_write_nothing(refused, fakes) -> None:
    data = json.dumps(alert()).encode()
    for headers in _forged(data):
        r = refused(None, headers=headers, raw=data)
        assert r.status_code == 401 and r.json["message"], headers
    assert fakes.written() == [] and fakes.bank_customers.reads == 0


def test_a_replayed_signature_is_401(post, wecom_sim) -> None:
    register(wecom_sim, "wr_jingan", 31.2235, 121.4455)
    data = json.dumps(alert()).encode()
    headers = signed_headers(KEY_ID, SECRET.encode(), data, time.time())
    assert post(None, headers=headers, raw=data).status_code == 200
    replay = post(None, headers=headers, raw=data)
    assert replay.status_code == 401 and "replayed" in replay.json["message"]


def test_get_is_405(fakes, monkeypatch) -> None:
    monkeypatch.setenv("SIYU_PARTNER_KEYS", KEYS)
    fakes.install()
    assert client("card_alert").get("/card-alert").status_code == 405
