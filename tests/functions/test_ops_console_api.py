"""The ops routes the console reads, on the production wiring over fakes: the customer
timeline and the funnel trend stay within the caller's branches, the copy check writes
nothing (not even an audit entry), health counts dead letters and scheduler heartbeats,
and the console's own files come with their security headers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from siyu.domain.access import Role
from siyu.domain.campaigns import SHANGHAI
from siyu.domain.customers import Customer, Relation
from siyu.domain.funnel import Dims, Milestone
from siyu.domain.health import TickSeen
from siyu.services.funnel import FunnelTracker

from .conftest import app
from .test_ops_identity import AUTH, grant, sign_in


def customer(fakes, ext: str, staff: str) -> None:
    at = fakes.clock.now()
    relation = Relation(staff_userid=staff, state="poster", added_at=at, changed_at=at)
    fakes.customers.docs[ext] = Customer(
        external_userid=ext, relations=[relation], created_at=at, updated_at=at
    )


def test_the_timeline_of_a_customer_is_read_within_the_callers_branches(ops, fakes) -> None:
    customer(fakes, "wm_sh", "zhangsan")  # zhangsan works for 浦东支行, under 上海分行
    customer(fakes, "wm_bj", "lisi")
    fakes.caps.claim("2026-11-20", "lunch@2026-11-20", ["single:wm_sh"])
    grant(fakes, "shanghai_viewer", Role.VIEWER, ["sh"])
    as_sh = sign_in(ops, fakes, "shanghai_viewer")
    page = ops.get("/ops/customer-timeline?external_userid=wm_sh", headers=as_sh)
    assert page.status_code == 200, page.json
    body = page.json
    assert body["campaigns"] == [{"day": "2026-11-20", "run_id": "lunch@2026-11-20"}]
    kinds = [e["kind"] for e in body["timeline"]]
    assert "relation_added" in kinds and "campaign" in kinds
    refused = ops.get("/ops/customer-timeline?external_userid=wm_bj", headers=as_sh)
    assert refused.status_code == 403 and "bj" in refused.json["message"]
    both = ops.get("/ops/customer-timeline?external_userid=a&bank_customer_id=b", headers=AUTH)
    assert both.status_code == 400
    assert (
        ops.get("/ops/customer-timeline?external_userid=wm_none", headers=AUTH).status_code == 404
    )


def test_the_trend_counts_each_day_and_a_branch_member_sees_only_theirs(ops, fakes) -> None:
    tracker = FunnelTracker(fakes.funnel, fakes.channels, fakes.customers)
    day = fakes.clock.now().astimezone(SHANGHAI).replace(hour=12)
    for n, branch in enumerate(["sh", "sh-pd", "bj", "bj"]):
        tracker.note(Milestone.ADDED, f"c{n}", day, Dims(branch=branch), f"c{n}")
    tracker.note(Milestone.ADDED, "late", day + timedelta(days=1), Dims(branch="sh"), "late")
    window = {"from": day.date().isoformat(), "to": (day + timedelta(days=1)).date().isoformat()}
    bank = ops.get("/ops/reports/funnel/trend", query_string=window, headers=AUTH).json
    assert bank["series"]["added"] == [4, 1]
    grant(fakes, "shanghai_viewer", Role.VIEWER, ["sh"])
    mine = ops.get(
        "/ops/reports/funnel/trend",
        query_string=window,
        headers=sign_in(ops, fakes, "shanghai_viewer"),
    ).json
    assert mine["series"]["added"] == [2, 1]  # 上海分行 and its 浦东支行, not 北京
    long = {"from": "2026-01-01", "to": "2026-12-31"}
    assert ops.get("/ops/reports/funnel/trend", query_string=long, headers=AUTH).status_code == 400


def test_the_copy_check_names_banned_claims_and_writes_nothing(ops, fakes) -> None:
    before = len(fakes.audit.docs)
    answer = ops.post("/ops/campaigns:check", json={"text": "稳 赚不赔的理财"}, headers=AUTH)
    assert answer.status_code == 200
    assert "稳赚" in answer.json["banned"] and answer.json["bytes"] == len(
        "稳 赚不赔的理财".encode()
    )
    clean = ops.post("/ops/campaigns:check", json={"text": "午餐立减"}, headers=AUTH).json
    assert clean["banned"] == []
    assert len(fakes.audit.docs) == before  # a check is not a change


def test_health_counts_dead_letters_heartbeats_and_open_tasks(ops, fakes) -> None:
    fakes.topic("biz-events").dead_letter(b"{}", "poison")
    fakes.ticks.beat(TickSeen(topic="campaign-ticks", last_at=fakes.clock.now()))
    health = ops.get("/ops/health", headers=AUTH).json
    waiting = {d["topic"]: d["waiting"] for d in health["dead_letters"]}
    assert waiting["biz-events"] == 1 and waiting["wecom-events"] == 0
    assert [t["topic"] for t in health["ticks"]] == ["campaign-ticks"]
    assert health["open_tasks"] == 0


def test_a_scheduled_function_leaves_its_heartbeat_only_when_the_tick_is_handled(fakes) -> None:
    from siyu.services.health import heartbeat

    calls: list[object] = []
    beat = heartbeat(fakes.ticks, "relayer-ticks", calls.append, fakes.clock)
    beat("tick")
    assert calls == ["tick"] and fakes.ticks.docs["relayer-ticks"].last_at == fakes.clock.now()

    def broken(_tick: object) -> None:
        raise RuntimeError("down")

    fakes.ticks.docs.clear()
    failing = heartbeat(fakes.ticks, "relayer-ticks", broken, fakes.clock)
    with pytest.raises(RuntimeError):
        failing("tick")
    assert fakes.ticks.docs == {}


def test_the_console_is_served_with_its_security_headers() -> None:
    client = app("ops_console").test_client()
    page = client.get("/console")
    assert page.status_code == 200 and b'src="/console/app.js"' in page.data
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    script = client.get("/console/pages/dashboard.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    again = client.get(
        "/console/app.js", headers={"If-None-Match": client.get("/console/app.js").headers["ETag"]}
    )
    assert again.status_code == 304
    assert client.get("/console/../bootstrap.py").status_code == 404
    assert client.get("/console/nothing.js").status_code == 404
    assert client.post("/console").status_code in (404, 405)
