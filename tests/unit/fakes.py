"""In-memory fakes of the ports, for unit tests of the services only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.domain.channels import Channel
from siyu.domain.customers import Customer
from siyu.domain.errors import Conflict, TransientError
from siyu.domain.events import WeComEvent
from siyu.domain.followups import Followup
from siyu.domain.groups import Group
from siyu.domain.tags import CorpTag
from siyu.domain.welcome import WelcomeClaim, WelcomeStatus, may_claim


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        self.mono = 1000.0

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        self.mono += seconds


class FakeDedupe:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    def claim(self, key: str, **fields: Any) -> bool:
        if key in self.docs:
            return False
        self.docs[key] = dict(fields)
        return True

    def get(self, key: str) -> dict[str, Any] | None:
        return self.docs.get(key)

    def update(self, key: str, **fields: Any) -> None:
        self.docs.setdefault(key, {}).update(fields)

    def release(self, key: str) -> None:
        self.docs.pop(key, None)


class FakeLedger:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.docs: dict[str, dict[str, Any]] = {}

    def claim(self, code: str, owner: str, stale_after_s: float) -> WelcomeClaim:
        claim = may_claim(self.docs.get(code), owner, self.clock.now(), stale_after_s)
        if claim.granted:
            self.docs[code] = {"owner": owner, "status": "sending", "claimed_at": self.clock.now()}
        return claim

    def finish(self, code: str, status: WelcomeStatus, latency_ms: float | None = None) -> None:
        self.docs.setdefault(code, {"owner": "", "claimed_at": self.clock.now()})["status"] = status


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[WeComEvent] = []
        self.dead: list[tuple[bytes, str]] = []
        self.fail = False

    def publish(self, event: WeComEvent) -> str:
        if self.fail:
            raise TransientError("publish failed")
        self.published.append(event)
        return str(len(self.published))

    def dead_letter(self, payload: bytes, reason: str) -> None:
        self.dead.append((payload, reason))


class FakeWeCom:
    """Records calls; `fail_welcome` makes send_welcome_msg fail that many times first."""

    def __init__(self) -> None:
        self.welcomes: list[str] = []
        self.used: set[str] = set()
        self.fail_welcome = 0
        self.marked: list[tuple[str, str, list[str]]] = []
        self.contacts: dict[str, dict[str, Any]] = {}
        self.chats: dict[str, dict[str, Any]] = {}
        self.tags: list[CorpTag] = []

    def get_external_contact(self, external_userid: str) -> dict[str, Any]:
        return self.contacts.get(external_userid, {"external_contact": {"name": "客户"}})

    def send_welcome_msg(self, welcome_code: str, text: str, deadline: float | None = None) -> None:
        if self.fail_welcome:
            self.fail_welcome -= 1
            raise TransientError("busy")
        if welcome_code in self.used:
            raise Conflict("41051")
        self.used.add(welcome_code)
        self.welcomes.append(text)

    def mark_tag(
        self, userid: str, external_userid: str, add: list[str], remove: list[str] | None = None
    ) -> None:
        self.marked.append((userid, external_userid, add))

    def get_corp_tag_list(self, tag_ids: list[str] | None = None) -> list[CorpTag]:
        return [t for t in self.tags if not tag_ids or t.id in tag_ids]

    def add_corp_tag(self, group_name: str, names: list[str]) -> list[CorpTag]:
        new = [
            CorpTag(id=f"t{len(self.tags) + i}", name=n, group_name=group_name)
            for i, n in enumerate(names)
        ]
        self.tags += new
        return new

    def get_group_chat(self, chat_id: str) -> dict[str, Any]:
        return {"group_chat": self.chats.get(chat_id, {"name": "", "member_list": []})}


class _Once:
    def __init__(self) -> None:
        self.docs: dict[str, Any] = {}
        self.applied: set[str] = set()

    def get(self, key: str) -> Any:
        return self.docs.get(key)

    def update_once(self, event_key: str, key: str, change: Callable[[Any], Any]) -> bool:
        if event_key in self.applied:
            return False
        self.docs[key] = change(self.docs.get(key))
        self.applied.add(event_key)
        return True


class FakeCustomers(_Once):
    docs: dict[str, Customer]


class FakeGroups(_Once):
    docs: dict[str, Group]


class FakeTags:
    def __init__(self) -> None:
        self.docs: dict[str, CorpTag] = {}

    def put_many(self, tags: list[CorpTag]) -> None:
        self.docs.update({t.id: t for t in tags})

    def mark_deleted(self, tag_ids: list[str]) -> None:
        for tid in tag_ids:
            if tid in self.docs:
                self.docs[tid] = self.docs[tid].model_copy(update={"deleted": True})


class FakeChannels:
    def __init__(self) -> None:
        self.docs: dict[str, Channel] = {}

    def get(self, state: str) -> Channel | None:
        return self.docs.get(state)

    def put(self, channel: Channel) -> None:
        self.docs[channel.state] = channel


class FakeFollowups:
    def __init__(self) -> None:
        self.docs: dict[str, Followup] = {}

    def create(self, followup: Followup) -> bool:
        if followup.id in self.docs:
            return False
        self.docs[followup.id] = followup
        return True
