"""ops_api through create_app: bearer auth, reads, and validated channel writes."""

from __future__ import annotations

import pytest

from .conftest import client as function_client

AUTH = {"Authorization": "Bearer test-ops"}


@pytest.fixture
def client(fakes, monkeypatch):
    """ops_api on fakes: no emulator."""
    monkeypatch.setenv("SIYU_OPS_TOKEN", "test-ops")
    fakes.install()
    return function_client("ops_api")


@pytest.fixture
def stored(cloud, wecom_sim, monkeypatch):
    """ops_api on the emulators and the WeCom simulator."""
    monkeypatch.setenv("SIYU_OPS_TOKEN", "test-ops")
    return function_client("ops_api")


def test_missing_or_wrong_token_is_401(client) -> None:
    assert client.get("/ops/customers/x").status_code == 401
    assert client.get("/ops/customers/x", headers={"Authorization": "Bearer no"}).status_code == 401


def test_unknown_customer_is_404(client) -> None:
    assert client.get("/ops/customers/nobody", headers=AUTH).status_code == 404


def test_a_blank_group_name_is_refused_before_wecom_is_asked(client, fakes) -> None:
    fakes.wecom.chats["wrBlank"] = {"owner": "zhangsan", "member_list": []}
    body = {"name": " ", "owner_userid": "zhangsan", "city": "上海", "kind": "food"}
    body |= {"lat": "31.229", "lng": "121.457", "coord_system": "wgs84"}
    r = client.put("/ops/groups/wrBlank", headers=AUTH, json=body)
    assert r.status_code == 400 and r.json["field"] == "name"
    assert fakes.wecom.join_ways == [] and fakes.groups.docs == {}


def test_channel_creates_missing_corp_tags_in_wecom(stored, wecom_sim) -> None:
    body = {"name": "动账提醒", "welcome_text": "欢迎", "tags": [{"group": "渠道", "name": "动账"}]}
    r = stored.put("/ops/channels/card_alert", headers=AUTH, json=body)
    assert r.status_code == 200
    again = stored.put("/ops/channels/card_alert", headers=AUTH, json=body)
    assert again.json["tag_ids"] == r.json["tag_ids"]
    adds = wecom_sim.get("/_sim/calls?api=externalcontact/add_corp_tag")
    assert len(adds) == 1
    assert stored.get("/ops/channels/card_alert", headers=AUTH).json["name"] == "动账提醒"


@pytest.mark.parametrize(
    ("state", "body", "field"),
    [
        ("ok", {"welcome_text": "x"}, "name"),
        ("ok", {"name": "n", "welcome_text": ""}, "welcome_text"),
        ("this_state_is_far_longer_than_thirty", {"name": "n", "welcome_text": "x"}, "state"),
    ],
)
def test_invalid_channel_is_400_naming_the_field(client, fakes, state, body, field) -> None:
    r = client.put(f"/ops/channels/{state}", headers=AUTH, json=body)
    assert r.status_code == 400 and r.json["field"] == field
    assert fakes.written() == [] and fakes.wecom.tags == []
