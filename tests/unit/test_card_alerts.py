"""Card-alert routing, cooldown, membership and idempotency, with in-memory fakes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from siyu.domain.bank_customers import BankCustomer
from siyu.domain.card_alerts import MAX_TEXT_CHARS, CardAlert, Reason, invite_text
from siyu.domain.errors import TransientError
from siyu.domain.groups import Group, GroupSpec
from tests.fakes import FakeClock, FakeCloud

PEOPLE_SQUARE = (31.2304, 121.4737)  # Shanghai, WGS-84


class World:
    """The production wiring (siyu.bootstrap) on fakes."""

    def __init__(self, refresh_s: float = 0.0) -> None:
        self.cloud = FakeCloud()
        self.clock, self.wecom, self.groups = self.cloud.clock, self.cloud.wecom, self.cloud.groups
        self.customers, self.tasks = self.cloud.bank_customers, self.cloud.ops_tasks
        root = self.cloud.root(
            group_index_refresh_s=refresh_s,
            group_join_limit=200,
            group_max_distance_m=5000,
            invite_cooldown_days=7,
        )
        self.registry = root.group_admin()
        self.directory = root.nearby_groups()
        self.service = root.card_alerts()

    def group(
        self, chat_id: str, lat: float, lng: float, city: str = "上海", **extra: Any
    ) -> Group:
        spec = GroupSpec(
            name=f"{chat_id}福利群",
            owner_userid="zhangsan",
            city=city,
            kind="food",
            lat=lat,
            lng=lng,
            coord_system="wgs84",
            **extra,
        )
        self.wecom.chats.setdefault(chat_id, {"name": spec.name, "owner": spec.owner_userid})
        return self.registry.put(chat_id, spec)

    def alert(
        self,
        txn: str = "t1",
        customer: str = "c1",
        lat: float = PEOPLE_SQUARE[0],
        lng: float = PEOPLE_SQUARE[1],
        city: str = "上海",
    ) -> Any:
        return self.service.answer(
            CardAlert.model_validate(
                {
                    "txn_id": txn,
                    "bank_customer_id": customer,
                    "amount": "35.50",
                    "currency": "CNY",
                    "occurred_at": "2026-11-23T12:00:00+08:00",
                    "merchant": {
                        "name": "面馆",
                        "mcc": "5812",
                        "city": city,
                        "lat": lat,
                        "lng": lng,
                        "coord_system": "wgs84",
                    },
                }
            )
        )


def test_the_nearest_group_with_room_gets_the_invite() -> None:
    w = World()
    w.group("far", 31.2500, 121.4737)
    w.group("near", 31.2310, 121.4740)
    answer = w.alert()
    assert answer.reason is Reason.NEAREST
    assert answer.invite.group_id == "near" and answer.invite.distance_m < 100
    assert answer.invite.join_url.startswith("https://qr.example/")


def test_a_full_group_overflows_to_the_next_nearest() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740, member_count=200)
    w.group("next", 31.2350, 121.4740, member_count=199)
    assert w.alert().invite.group_id == "next"


def test_out_of_range_falls_back_to_the_city_then_to_an_ops_task() -> None:
    w = World()
    w.group("suburb", 31.0, 121.2)  # ~37 km away, same city
    answer = w.alert()
    assert answer.reason is Reason.CITY and answer.invite.group_id == "suburb"
    nothing = w.alert(txn="t2", customer="c2", lat=39.90, lng=116.40, city="北京")
    assert nothing.invite is None and nothing.reason is Reason.NO_GROUP
    w.alert(txn="t3", customer="c3", lat=39.90, lng=116.40, city="北京")
    [task] = w.tasks.docs.values()
    assert task.city == "北京" and task.kind == "new_group_needed"
    assert w.tasks.creates == 1  # the second alert in the same area asked nobody


def test_the_same_txn_gets_the_same_answer_and_writes_once() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740)
    first = w.alert()
    w.group("nearer", 31.2304, 121.4737)  # a better group appears meanwhile
    w.clock.advance(60)
    assert w.alert() == first.model_copy(update={"reason": first.reason})
    assert w.customers.writes == 1


def test_cooldown_then_a_new_invite_after_seven_days() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740)
    w.alert(txn="t1")
    assert w.alert(txn="t2").reason is Reason.COOLDOWN
    w.clock.advance(timedelta(days=7).total_seconds())
    assert w.alert(txn="t3").invite is not None


def test_a_member_of_a_benefit_group_is_not_invited() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740)
    w.customers.set_membership(["c1"], "near", member=True)
    answer = w.alert()
    assert answer.invite is None and answer.reason is Reason.MEMBER


def test_a_concurrent_invite_for_the_same_customer_wins_and_this_one_cools_down() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740)

    def other_alert_lands_first() -> None:
        w.customers.before_save = None
        w.alert(txn="other")

    w.customers.before_save = other_alert_lands_first
    answer = w.alert(txn="mine")
    assert answer.reason is Reason.COOLDOWN
    assert [i.txn_id for i in w.customers.docs["c1"].invites] == ["other"]


def test_a_document_that_keeps_changing_asks_for_a_retry() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740)
    w.customers.save_if_unchanged = lambda customer, version: False  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        w.alert()


def test_the_index_refreshes_on_its_interval_not_per_request() -> None:
    w = World(refresh_s=5)
    w.group("near", 31.2310, 121.4740)
    assert w.alert(customer="a").invite.group_id == "near"
    w.group("near", 31.2310, 121.4740, member_count=200)  # now full
    assert w.alert(customer="b").invite.group_id == "near"  # still the cached view
    w.clock.advance(5)
    assert w.alert(customer="c").reason is Reason.NO_GROUP


def test_dismissed_groups_leave_the_index() -> None:
    w = World()
    w.group("near", 31.2310, 121.4740)
    w.registry.dismiss("near")
    assert w.alert().reason is Reason.NO_GROUP


def test_registering_twice_keeps_one_join_way() -> None:
    w = World()
    w.group("g", 31.2310, 121.4740)
    w.group("g", 31.2320, 121.4740)
    assert w.wecom.join_ways == ["g"]


@pytest.mark.parametrize("kind", ["food", "shopping", "travel", "other"])
@pytest.mark.parametrize(
    "name", ["静安寺美食福利群", "一个名字非常非常非常非常非常非常非常非常非常非常长的福利群" * 2]
)
def test_invite_text_fits_sixty_characters_and_names_the_group(kind: str, name: str) -> None:
    group = Group(chat_id="g", name=name, city="乌鲁木齐", kind=kind, updated_at=FakeClock().now())
    text = invite_text(group)
    assert len(text) <= MAX_TEXT_CHARS
    assert name[:10] in text


def test_bank_customer_cooldown_counts_from_the_last_invite() -> None:
    customer = BankCustomer(bank_customer_id="c")
    assert not customer.invited_within(timedelta(days=7), FakeClock().now())
