"""on_wecom_event through create_app: both CloudEvent shapes, redelivery, poison messages."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from cloudevents.conversion import to_structured
from cloudevents.http import CloudEvent
from functions_framework import create_app

from siyu import bootstrap
from siyu.devstack.registry import FUNCTIONS
from siyu.domain.bank_customers import BankCustomerLink
from siyu.domain.events import WeComEvent

SOURCE = next(f for f in FUNCTIONS if f.name == "on_wecom_event").source


@pytest.fixture
def client(cloud, wecom_sim):
    return create_app("on_wecom_event", str(SOURCE), "cloudevent").test_client()


def add_event(external: str = "wm_e1") -> WeComEvent:
    return WeComEvent(
        event="change_external_contact",
        change_type="add_external_contact",
        create_time=int(time.time()),
        user_id="zhangsan",
        external_user_id=external,
        state="",
        raw_sha256="abc",
    )


def eventarc(payload: bytes, message_id: str = "1") -> tuple[dict, bytes]:
    """The binary-mode-equivalent structured CloudEvent Eventarc delivers in production."""
    event = CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": "//pubsub.googleapis.com/projects/p/topics/wecom-events",
        },
        {
            "message": {"data": base64.b64encode(payload).decode(), "messageId": message_id},
            "subscription": "s",
        },
    )
    return to_structured(event)


def test_eventarc_event_creates_the_customer_and_redelivery_changes_nothing(
    client, wecom_sim
) -> None:
    wecom_sim.sim.prepare_event(
        {
            "Event": "change_external_contact",
            "ChangeType": "add_external_contact",
            "UserID": "zhangsan",
            "ExternalUserID": "wm_e1",
            "Name": "王女士",
            "WelcomeCode": "",
        }
    )
    headers, body = eventarc(add_event().model_dump_json().encode())
    assert client.post("/", headers=headers, data=body).status_code == 200
    first = bootstrap.root().stores().customers.get("wm_e1")
    assert first is not None and first.name == "王女士"
    assert client.post("/", headers=headers, data=body).status_code == 200
    assert bootstrap.root().stores().customers.get("wm_e1") == first


def test_raw_push_envelope_is_decoded_too(client, wecom_sim) -> None:
    payload = add_event("wm_e2").model_dump_json().encode()
    envelope = {
        "message": {"data": base64.b64encode(payload).decode(), "messageId": "9", "attributes": {}},
        "subscription": "projects/p/subscriptions/s",
    }
    r = client.post("/projects/p/topics/wecom-events", json=envelope)
    assert r.status_code == 200
    assert bootstrap.root().stores().customers.get("wm_e2") is not None


def test_poison_message_goes_to_the_dead_letter_topic_and_is_acknowledged(client, cloud) -> None:
    headers, body = eventarc(json.dumps({"event": "change_external_contact"}).encode())
    assert client.post("/", headers=headers, data=body).status_code == 200
    [dead] = cloud.pull_dead_letters()
    assert "invalid WeComEvent" in dead.attributes["reason"]


def test_upstream_failure_asks_for_redelivery(client, wecom_sim) -> None:
    import httpx

    httpx.post(f"{wecom_sim.url}/_sim/config", json={"fault_rate": 1.0})
    headers, body = eventarc(add_event("wm_e3").model_dump_json().encode())
    assert client.post("/", headers=headers, data=body).status_code == 500
    assert bootstrap.root().stores().customers.get("wm_e3") is None


def test_the_last_allowed_attempt_dead_letters_with_the_reason_and_acknowledges(
    client, cloud, wecom_sim
) -> None:
    import httpx

    from siyu.adapters.pubsub import DELIVERY

    httpx.post(f"{wecom_sim.url}/_sim/config", json={"fault_rate": 1.0})
    headers, body = eventarc(add_event("wm_e4").model_dump_json().encode(), message_id="m-e4")
    statuses = [
        client.post("/", headers=headers, data=body).status_code
        for _ in range(DELIVERY.max_delivery_attempts)
    ]
    assert statuses == [500] * (DELIVERY.max_delivery_attempts - 1) + [200]
    [dead] = cloud.pull_dead_letters()
    assert dead.attributes["reason"].startswith(
        f"failed {DELIVERY.max_delivery_attempts} deliveries"
    )
    assert b"wm_e4" in dead.data
    httpx.post(f"{wecom_sim.url}/_sim/config", json={"fault_rate": 0.0})
    other, body = eventarc(add_event("wm_e5").model_dump_json().encode(), message_id="m-e5")
    assert client.post("/", headers=other, data=body).status_code == 200  # counted apart
    assert bootstrap.root().stores().customers.get("wm_e5") is not None


def chat_event(chat_id: str, detail: str, members: tuple[str, ...] = ()) -> WeComEvent:
    return WeComEvent(
        event="change_external_chat",
        change_type="update",
        update_detail=detail,
        create_time=int(time.time()),
        chat_id=chat_id,
        mem_change_cnt=1,
        mem_change_list=members,
        raw_sha256=f"{detail}-{members}",
    )


def test_membership_without_a_member_list_is_read_from_wecom(client, wecom_sim) -> None:
    from siyu.domain.groups import GroupSpec

    sim = wecom_sim.sim
    group = sim.ensure_group("wr_old_cb")
    spec = {
        "name": "老回调群",
        "owner_userid": "zhangsan",
        "city": "上海",
        "kind": "food",
        "lat": 31.2,
        "lng": 121.4,
        "coord_system": "wgs84",
    }
    bootstrap.root().group_admin().put("wr_old_cb", GroupSpec.model_validate(spec))
    bootstrap.root().stores().bank_customers.link(
        "bc_old", BankCustomerLink(external_userid="wm_old"), datetime.now(UTC)
    )
    # An older callback: WeCom's member list changes, the event does not say who joined.
    sim.change_members(group, {"UpdateDetail": "add_member", "MemChangeList": ["wm_old"]}, 0)
    headers, body = eventarc(chat_event("wr_old_cb", "add_member").model_dump_json().encode())
    assert client.post("/", headers=headers, data=body).status_code == 200
    customer, _ = bootstrap.root().stores().bank_customers.get("bc_old")
    assert customer is not None and customer.groups == ["wr_old_cb"]

    sim.change_members(group, {"UpdateDetail": "del_member", "MemChangeList": ["wm_old"]}, 0)
    headers, body = eventarc(chat_event("wr_old_cb", "del_member").model_dump_json().encode())
    assert client.post("/", headers=headers, data=body).status_code == 200
    customer, _ = bootstrap.root().stores().bank_customers.get("bc_old")
    group = bootstrap.root().stores().groups.get("wr_old_cb")
    assert customer is not None and customer.groups == []
    assert group is not None and group.member_count == 0
