"""Every route, fuzzed: mutated valid bodies, random JSON, odd ids and raw bytes, signed or
authorized as their callers are. No answer may be a 5xx, and a refused request (4xx) may
write nothing: no Firestore document and no WeCom write in the simulator.

Bounded (derandomized, a fixed number of examples per route) so `make test` stays short.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import google.cloud.pubsub_v1 as pubsub_v1
import pytest
from functions_framework import create_app
from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.adapters.wecom.events import render_envelope, render_event
from siyu.devstack.openapi import load_function
from siyu.devstack.registry import FUNCTIONS, ROOT
from siyu.domain.partner_auth import signed_headers
from tests.callbacks import crypto_from_env
from tests.conftest import PROJECT
from tests.functions.test_card_alert import alert

from .conftest import TALLY

KEY_ID, SECRET = "fuzz", "fuzz-partner-secret-0123456789"
AUTH = {"Authorization": "Bearer fuzz-ops"}
EXAMPLES = 300
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
WRITES = ("add_", "mark_tag", "send_", "transfer_customer", "remind_", "update_", "del_")

# -- input ---------------------------------------------------------------------------------

ODD = st.sampled_from(
    [
        "",
        " ",
        "__x__",
        "__name__",
        ".",
        "..",
        "a/b",
        "x/evil/pwned",
        "\x00",
        "\ufeff",
        "𝟙𝟚",
        "²",
        "1" * 5000,
        "Ω" * 600,
        "%2F",
        "NaN",
        "-1",
        "9" * 30,
        "2026-02-30",
        "0001-01-01",
        "9999-12-31",
        "<xml/>",
        "{}",
        "null",
    ]
)
TEXT = st.one_of(ODD, st.text(max_size=40))
# What an HTTP header can carry at all (no line breaks).
HEADER = TEXT.map(lambda t: "".join(c for c in t if c not in "\r\n\x00"))
# Digits of every script ("²".isdigit() is True), and more digits than int() takes.
STAMPS = st.one_of(
    st.text(alphabet="0123456789²³¹٣۴߀१１", min_size=1, max_size=24),
    st.integers(4300, 6000).map(lambda n: "9" * n),
    ODD,
).map(lambda t: "".join(c for c in t if c not in "\r\n\x00"))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*at, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, seed: dict[str, Any]) -> Any:
    """The seed with 1–3 of its values replaced, removed, or joined by unknown keys."""
    body: Any = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        if not path:
            return draw(JSON)
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        op = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if op == "replace":
            parent[path[-1]] = draw(JSON)
        elif op == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, dict):
            parent[draw(TEXT)] = draw(JSON)
    return body


def bodies(seed: dict[str, Any] | None) -> st.SearchStrategy[bytes]:
    as_json = (mutated(seed) if seed else JSON).map(lambda b: json.dumps(b).encode())
    raw = st.one_of(
        st.binary(max_size=200),
        st.just(b"[" * 5000 + b"]" * 5000),
        st.just(b'{"a": ' * 40 + b"1" + b"}" * 40),
    )
    return st.one_of(as_json, as_json, as_json, raw)


# -- routes --------------------------------------------------------------------------------

GROUP = {
    "name": "静安美食群",
    "owner_userid": "zhangsan",
    "city": "上海",
    "kind": "food",
    "lat": 31.229,
    "lng": 121.457,
    "coord_system": "wgs84",
}
CAMPAIGN = {
    "name": "元旦福利",
    "schedule": {"kind": "daily", "at": "09:00"},
    "active_from": "2026-11-01",
    "priority": 70,
    "audience": {"kind": "groups", "cities": ["上海"], "tags": ["早餐"]},
    "content": {"text": "{campaign}：今晚8点抢券"},
}
IMPORT_CSV = (
    "chat_id,name,owner_userid,city,kind,lat,lng,coord_system\n"
    "wr_fuzz_imp,导入群,zhangsan,上海,food,31.23,121.47,gcj02\n"
)
SEEDS: dict[tuple[str, str], dict[str, Any] | None] = {
    ("PUT", "/ops/groups/<chat_id>"): GROUP,
    ("PUT", "/ops/bank-customers/<bank_customer_id>"): {"external_userid": "wm1"},
    ("POST", "/ops/referral-codes"): {"bank_customer_id": "bc1"},
    ("PUT", "/ops/channels/<state>"): {
        "name": "动账",
        "welcome_text": "欢迎",
        "tags": [{"group": "渠道", "name": "动账"}],
    },
    ("PUT", "/ops/tag-rules/<rule_id>"): {
        "tag": {"group": "兴趣", "name": "基金"},
        "when": {"all": [{"field": "aggregates.purchase_count", "op": ">=", "value": 1}]},
    },
    ("POST", "/ops/tag-rules:preview"): {
        "id": "likes-funds",
        "tag": {"group": "兴趣", "name": "基金"},
        "when": {"field": "aggregates.products", "op": "contains", "value": "fund"},
    },
    ("POST", "/ops/campaigns:check"): {"text": "{weekday}午餐立减", "other_texts": ["到店"]},
    ("PUT", "/ops/imports/<job_id>"): {
        "kind": "groups",
        "filename": "groups.csv",
        "content_base64": base64.b64encode(IMPORT_CSV.encode()).decode(),
    },
    ("POST", "/ops/followups/<followup_id>:done"): {"note": "已回访"},
    ("POST", "/ops/followups/<followup_id>:snooze"): {"until": "2027-01-01T09:00:00+08:00"},
    ("PUT", "/ops/campaigns/<campaign_id>"): CAMPAIGN,
    ("PUT", "/ops/calendar/<year>"): {
        "year": 2027,
        "holidays": [
            {"name": "new_years_day", "first_day": "2027-01-01", "last_day": "2027-01-03"}
        ],
        "working_days": [],
        "source": "fuzz",
    },
    ("POST", "/ops/media"): {
        "kind": "image",
        "filename": "cover.png",
        "content_base64": base64.b64encode(IMPORT_CSV.encode()).decode(),
    },
    ("PUT", "/ops/group-codes/<code_id>"): {"name": "上海美食", "city": "上海"},
    ("POST", "/ops/campaigns/<campaign_id>/runs/<occurrence>:cancel"): None,
    ("POST", "/ops/logout"): None,
    ("PUT", "/ops/members/<userid>"): {"role": "operator", "branches": ["*"], "name": "赵"},
    ("PUT", "/ops/branches/<branch_id>"): {"name": "上海分行"},
    ("PUT", "/ops/staff/<userid>"): {"branch": "sh"},
    ("POST", "/ops/people:export"): {"external_userid": "wm1"},
    ("POST", "/ops/people:erase"): {"bank_customer_id": "bc1", "reason": "客户申请删除"},
    ("POST", "/ops/transfers"): {
        "from_userid": "a",
        "to_userid": "b",
        "resigned": True,
        "customers": ["wm1"],
    },
}
QUERIES: dict[str, dict[str, Any]] = {
    "/ops/reports/funnel": {"from": "2026-11-01", "to": "2026-11-30", "by": "channel"},
    "/ops/followups": {"staff": "zhangsan", "status": "open"},
    "/ops/groups": {"city": "上海"},
    "/ops/audit": {"actor": "ops-token", "from": "2026-11-01", "to": "2026-11-30"},
    "/ops/login/callback": {"code": "c", "state": "s"},
}


def ops_routes() -> list[tuple[str, str]]:
    module = load_function(ROOT / "functions/ops_api/main.py")
    return [(m, p.replace("{", "<").replace("}", ">")) for m, p in module.ROUTES.routes()]


OPS_ROUTES = ops_routes()


def test_every_ops_route_with_a_body_has_a_seed() -> None:
    with_body = {r for r in OPS_ROUTES if r[0] in {"PUT", "POST"} and not r[1].endswith("/preview")}
    assert with_body == set(SEEDS)


# -- the world the requests land in -------------------------------------------------------


class World:
    """What a refused request must leave as it was: documents and WeCom writes."""

    def __init__(self, sim: Any) -> None:
        self._db = firestore.Client()
        self._sim = sim

    def fingerprint(self) -> tuple[tuple[str, int], ...]:
        counts = [(c.id, int(c.count().get()[0][0].value)) for c in self._db.collections()]
        # A write WeCom refused (e.g. 40050 for a chat it does not know) changed nothing.
        writes = sum(
            1
            for call in self._sim.state.calls
            if call["api"].split("/")[-1].startswith(WRITES) and call["errcode"] == 0
        )
        return (*sorted(counts), ("wecom writes", writes))

    def check(self, send: Callable[[], Any], what: str) -> None:
        before = self.fingerprint()
        response = send()
        TALLY["requests"] += 1
        status = response.status_code
        if status >= 500:
            TALLY["5xx"] += 1
        assert status < 500, f"{what} → {status}: {response.get_data(as_text=True)[:300]}"
        if 400 <= status < 500:
            TALLY["refused"] += 1
            assert self.fingerprint() == before, f"{what} → {status} but something was written"


@pytest.fixture
def world(cloud, wecom_sim, monkeypatch) -> World:
    monkeypatch.setenv("SIYU_OPS_TOKEN", "fuzz-ops")
    monkeypatch.setenv("SIYU_PARTNER_KEYS", f"{KEY_ID}:{SECRET}")
    wecom_sim.sim.ensure_group("wr_fuzz")
    publisher = pubsub_v1.PublisherClient()
    for topic in ("tag-sync", "tag-backfill-ticks"):  # what ops_api publishes to
        with contextlib.suppress(AlreadyExists):
            publisher.create_topic(name=publisher.topic_path(PROJECT, topic))
    return World(wecom_sim.sim)


def client(name: str) -> Any:
    source = next(f for f in FUNCTIONS if f.name == name).source
    return create_app(name, str(source), "http").test_client()


def fill(path: str, value: str) -> str:
    out = path
    while "<" in out:
        start, end = out.index("<"), out.index(">")
        out = out[:start] + quote(value, safe="") + out[end + 1 :]
    return out


# -- the fuzz ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), OPS_ROUTES, ids=lambda v: str(v))
def test_ops_routes(world: World, method: str, path: str) -> None:
    ops = client("ops_api")
    seed = SEEDS.get((method, path))
    query_seed = QUERIES.get(path)

    @FUZZ
    @given(ident=TEXT, body=bodies(seed), query=mutated(query_seed) if query_seed else st.just({}))
    def run(ident: str, body: bytes, query: Any) -> None:
        url = fill(path, ident or "x")
        params = query if isinstance(query, dict) else {"q": json.dumps(query)}
        params = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        world.check(
            lambda: ops.open(
                url,
                method=method,
                headers=AUTH,
                query_string=params,
                data=body if method in {"PUT", "POST"} else None,
                content_type="application/json",
            ),
            f"{method} {url}",
        )

    run()


CARD = alert()
EVENT = {
    "type": "purchase",
    "payload": {
        "event_id": "e1",
        "bank_customer_id": "bc1",
        "product": "fund",
        "amount": "120.00",
        "occurred_at": "2026-11-23T12:00:00+08:00",
    },
}


@pytest.mark.parametrize(
    ("name", "path", "seed"),
    [("card_alert", "/card-alert", CARD), ("biz_events", "/events", EVENT)],
)
def test_signed_partner_routes(world: World, name: str, path: str, seed: dict[str, Any]) -> None:
    app = client(name)

    @FUZZ
    @given(body=bodies(seed), stamp=st.one_of(st.none(), STAMPS), key=st.one_of(st.none(), HEADER))
    def run(body: bytes, stamp: str | None, key: str | None) -> None:
        headers = signed_headers(KEY_ID, SECRET.encode(), body, time.time())
        if stamp is not None:
            headers["X-Siyu-Timestamp"] = stamp
        if key is not None:
            headers["X-Siyu-Key-Id"] = key
        world.check(lambda: app.post(path, data=body, headers=headers), f"POST {path}")

    run()


CALLBACK_TAGS = [
    "ToUserName", "FromUserName", "CreateTime", "MsgType", "Event", "ChangeType", "UserID",
    "ExternalUserID", "ChatId", "State", "WelcomeCode", "Source", "FailReason", "UpdateDetail",
    "JoinScene", "QuitScene", "MemChangeCnt", "LastMemVer", "CurMemVer", "Id", "TagType",
]  # fmt: skip
EVENTS = st.sampled_from(
    ["change_external_contact", "change_external_chat", "change_external_tag", "subscribe", ""]
)


@st.composite
def callback_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "Event": draw(EVENTS),
        "ChangeType": draw(TEXT),
        "CreateTime": int(time.time()),
    }
    for tag in draw(st.lists(st.sampled_from(CALLBACK_TAGS), max_size=8)):
        fields[tag] = draw(st.one_of(TEXT, st.integers(-(10**20), 10**20)))
    if draw(st.booleans()):
        fields["MemChangeList"] = draw(st.lists(TEXT, max_size=3))
    return fields


ENCODINGS = ["GBK", "GB18030", "Big5", "Shift_JIS", "EUC-KR", "UTF-16", "UTF-32", "x-nope"]
ENVELOPES = st.one_of(
    st.binary(max_size=300),
    st.sampled_from(ENCODINGS).map(
        lambda e: f'<?xml version="1.0" encoding="{e}"?><xml><Encrypt>a</Encrypt></xml>'.encode()
    ),
    st.just(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'),
    st.just(b"<xml>" * 3000),
    st.just(b'{"encrypt": ' * 100 + b'"x"' + b"}" * 100),
)


def test_wecom_callback(world: World) -> None:
    app, crypto = client("wecom_callback"), crypto_from_env()

    @FUZZ
    @given(fields=callback_fields(), raw=st.one_of(st.none(), ENVELOPES), nonce=TEXT)
    def run(fields: dict[str, Any], raw: bytes | None, nonce: str) -> None:
        text = "".join(c for c in str(fields.get("ChangeType", "")) if c.isprintable())
        fields["ChangeType"] = text.replace("]]>", "")
        try:
            inner = render_event(fields)
        except UnicodeEncodeError:
            inner = b"<xml/>"
        encrypted = crypto.encrypt(inner)
        ts, n = str(int(time.time())), (nonce or "n")[:64]
        query = {"msg_signature": crypto.sign(ts, n, encrypted), "timestamp": ts, "nonce": n}
        body = raw if raw is not None else render_envelope("ww", encrypted, "1")
        world.check(lambda: app.post("/", query_string=query, data=body), "POST /wecom/callback")

    run()
