"""ops_api's identity on the production wiring over fakes: every route declares a role,
WeCom web login gives a session cookie, roles and branches refuse what they must, every
change is audited, and an Idempotency-Key makes a retried creating call act once."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from siyu.domain.access import Grant, Role
from siyu.domain.sessions import SESSION_COOKIE, STATE_COOKIE

AUTH = {"Authorization": "Bearer test-ops"}
GROUP = {
    "name": "陆家嘴美食群",
    "owner_userid": "zhangsan",
    "city": "上海",
    "kind": "food",
    "lat": 31.2397,
    "lng": 121.4998,
    "coord_system": "wgs84",
}


def grant(fakes, userid: str, role: Role, branches: list[str]) -> None:
    fakes.grants.put(
        Grant(
            id=userid,
            kind="member",
            role=role,
            branches=branches,
            updated_at=fakes.clock.now(),
            updated_by="boss",
        )
    )


def cookies(response) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        jar.load(header)
    return {k: v.value for k, v in jar.items()}


def sign_in(ops, fakes, userid: str) -> dict[str, str]:
    """The browser's round trip: /ops/login → WeCom's page → /ops/login/callback."""
    start = ops.get("/ops/login?next=/ops/me")
    assert start.status_code == 302
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    fakes.wecom.login_codes[f"code-{userid}"] = userid
    back = ops.get(
        f"/ops/login/callback?code=code-{userid}&state={state}",
        headers={"Cookie": f"{STATE_COOKIE}={cookies(start)[STATE_COOKIE]}"},
    )
    assert back.status_code == 303, back.json
    return {"Cookie": f"{SESSION_COOKIE}={cookies(back)[SESSION_COOKIE]}"}


def test_every_ops_route_declares_its_role(ops) -> None:
    """Walks the route table: public only for the login flow; GETs read (viewer); changes
    need an operator; grants, branches, staff, transfers and the calendar need an admin."""
    from siyu.devstack.openapi import routes

    ops_routes = {k: r for k, (fn, r, _s) in routes().items() if fn.name == "ops_api"}
    assert ops_routes
    admin_only = {"/ops/members", "/ops/branches", "/ops/staff", "/ops/transfers", "/ops/calendar"}
    for (method, path), route in ops_routes.items():
        assert route is not None
        if route.public:
            assert path in ("/ops/login", "/ops/login/callback"), path
            continue
        assert route.role is not None, f"{method} {path} declares no role"
        if not route.changes:
            # Not audited by the router: what only computes, and the people routes, which
            # record their own entry without the personal data they carry.
            assert (method, path) in {
                ("POST", "/ops/campaigns:check"),
                ("POST", "/ops/people:export"),
                ("POST", "/ops/people:erase"),
            }, path
        elif method != "GET" and path != "/ops/logout":
            assert route.role is not Role.VIEWER, f"{method} {path} lets a viewer change things"
        if method != "GET" and any(path.startswith(p) for p in admin_only):
            assert route.role is Role.ADMIN, f"{method} {path} is an admin's"
        if path.startswith(("/ops/members", "/ops/audit", "/ops/people")):
            assert route.role is Role.ADMIN, f"{method} {path} is an admin's"


def test_the_login_link_is_wecoms_and_the_state_is_checked(ops, fakes) -> None:
    start = ops.get("/ops/login")
    link = urlsplit(start.headers["Location"])
    query = parse_qs(link.query)
    assert link.path == "/wwlogin/sso/login"
    assert query["login_type"] == ["CorpApp"] and query["appid"] == ["ww_siyu_local_corp"]
    assert query["redirect_uri"] == ["https://ops.bank.example/ops/login/callback"]
    raw = start.headers.get("Set-Cookie")
    assert "HttpOnly" in raw and "Secure" in raw and "SameSite=Lax" in raw
    for elsewhere in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        r = ops.get("/ops/login", query_string={"next": elsewhere})
        assert r.status_code == 400 and r.json["field"] == "next"
    fakes.wecom.login_codes["c1"] = "boss"
    forged = ops.get("/ops/login/callback?code=c1&state=someone-elses")
    assert forged.status_code == 403 and fakes.sessions.docs == {}


def test_a_session_names_the_member_and_ends_on_logout(ops, fakes) -> None:
    session = sign_in(ops, fakes, "boss")
    me = ops.get("/ops/me", headers=session)
    assert me.status_code == 200 and me.json["id"] == "boss" and me.json["role"] == "admin"
    assert ops.post("/ops/logout", headers=session).json == {"signed_out": True}
    assert ops.get("/ops/me", headers=session).status_code == 401


def test_a_session_ends_when_idle_or_old(ops, fakes) -> None:
    grant(fakes, "wang", Role.VIEWER, ["sh"])
    session = sign_in(ops, fakes, "wang")
    fakes.clock.advance(29 * 60)
    assert ops.get("/ops/me", headers=session).status_code == 200
    fakes.clock.advance(31 * 60)  # idle past 30 minutes
    assert ops.get("/ops/me", headers=session).status_code == 401
    session = sign_in(ops, fakes, "wang")
    for _ in range(17):  # busy all along, but 8 hours is the most a session lives
        fakes.clock.advance(29 * 60)
        ops.get("/ops/me", headers=session)
    assert ops.get("/ops/me", headers=session).status_code == 401


def test_a_forged_session_cookie_is_401(ops, fakes) -> None:
    session = sign_in(ops, fakes, "boss")
    sid = session["Cookie"].split("=", 1)[1].rsplit(".", 1)[0]
    forged = {"Cookie": f"{SESSION_COOKIE}={sid}.{'0' * 64}"}
    assert ops.get("/ops/me", headers=forged).status_code == 401


def test_a_member_without_a_grant_cannot_sign_in(ops, fakes) -> None:
    start = ops.get("/ops/login")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    fakes.wecom.login_codes["c2"] = "stranger"
    back = ops.get(
        f"/ops/login/callback?code=c2&state={state}",
        headers={"Cookie": f"{STATE_COOKIE}={cookies(start)[STATE_COOKIE]}"},
    )
    assert back.status_code == 403 and fakes.sessions.docs == {}


def test_a_viewers_write_is_refused_and_audited(ops, fakes) -> None:
    grant(fakes, "wang", Role.VIEWER, ["*"])
    session = sign_in(ops, fakes, "wang")
    r = ops.put("/ops/groups/wrA", headers=session, json={**GROUP, "branch": "sh-pd"})
    assert r.status_code == 403 and "viewer" in r.json["message"]
    assert fakes.groups.docs == {}
    [entry] = [e for e in fakes.audit.docs.values() if e.route.startswith("PUT")]
    assert entry.status == 403 and entry.route == "PUT /ops/groups/{chat_id}"


def test_an_operator_of_one_branch_cannot_touch_anothers_group(ops, fakes) -> None:
    grant(fakes, "zhao", Role.OPERATOR, ["sh"])  # 上海分行 and the 支行 under it
    session = sign_in(ops, fakes, "zhao")
    ok = ops.put("/ops/groups/wrA", headers=session, json={**GROUP, "branch": "sh-pd"})
    assert ok.status_code == 200 and ok.json["branch"] == "sh-pd"
    ops.put("/ops/groups/wrB", headers=AUTH, json={**GROUP, "branch": "bj"})
    refused = ops.put("/ops/groups/wrB", headers=session, json={**GROUP, "branch": "sh-pd"})
    assert refused.status_code == 403 and "branch bj" in refused.json["message"]
    assert fakes.groups.docs["wrB"].branch == "bj"
    moved = ops.put("/ops/groups/wrA", headers=session, json={**GROUP, "branch": "bj"})
    assert moved.status_code == 403 and "branch bj" in moved.json["message"]
    listed = ops.get("/ops/groups", headers=session)
    assert [g["chat_id"] for g in listed.json] == ["wrA"]
    assert ops.get("/ops/groups/wrB", headers=session).status_code == 403
    unknown = ops.put("/ops/groups/wrC", headers=AUTH, json={**GROUP, "branch": "gz"})
    assert unknown.status_code == 400 and unknown.json["field"] == "branch"


def test_every_change_is_audited_with_actor_and_diff(ops, fakes) -> None:
    grant(fakes, "zhao", Role.OPERATOR, ["sh"])
    session = sign_in(ops, fakes, "zhao")
    ops.put("/ops/groups/wrA", headers=session, json={**GROUP, "branch": "sh-pd"})
    fakes.clock.advance(1)
    renamed = {**GROUP, "name": "陆家嘴午餐群", "branch": "sh-pd"}
    assert ops.put("/ops/groups/wrA", headers=session, json=renamed).status_code == 200
    r = ops.get("/ops/audit?target=chat_id=wrA", headers=AUTH)
    assert r.status_code == 200
    latest, first = r.json
    assert latest["actor"] == first["actor"] == "zhao" and latest["actor_kind"] == "member"
    assert latest["before"]["name"] == "陆家嘴美食群" and latest["after"]["name"] == "陆家嘴午餐群"
    assert "city" not in latest["after"]  # only what changed
    assert first["before"] is None and first["after"]["branch"] == "sh-pd"
    viewer_reads = ops.get("/ops/audit", headers=sign_in(ops, fakes, "zhao"))
    assert viewer_reads.status_code == 403  # the log is an admin's


def test_the_audit_names_a_customer_only_by_a_pseudonym_erasure_can_unlink(ops, fakes) -> None:
    linked = ops.put("/ops/bank-customers/bc9", headers=AUTH, json={"external_userid": "wm9"})
    assert linked.status_code == 200
    [entry] = [e for e in fakes.audit.docs.values() if "bank-customers" in e.route]
    token = fakes.people.tokens[("bank_customer_id", "bc9")]
    assert entry.target == f"bank_customer_id={token}"
    assert entry.after["external_userid"] == fakes.people.tokens[("external_userid", "wm9")]
    assert "bc9" not in str(entry.model_dump()) and "wm9" not in str(entry.model_dump())
    # ops still find the entry by the customer's id
    found = ops.get("/ops/audit?target=bank_customer_id=bc9", headers=AUTH).json
    assert [e["id"] for e in found] == [entry.id]


def test_export_and_erasure_are_an_admins_and_audited_without_the_person(ops, fakes) -> None:
    grant(fakes, "zhao", Role.OPERATOR, ["*"])
    session = sign_in(ops, fakes, "zhao")
    body = {"external_userid": "wm7", "reason": "客户申请删除"}
    assert ops.post("/ops/people:erase", headers=session, json=body).status_code == 403
    assert ops.post("/ops/people:export", headers=AUTH, json=body).status_code == 400  # reason
    assert (
        ops.post("/ops/people:export", headers=AUTH, json={"external_userid": "wm7"}).status_code
        == 404
    )
    erased = ops.post("/ops/people:erase", headers=AUTH, json=body)
    assert erased.status_code == 200 and erased.json["collections"] == {}
    [receipt] = fakes.people.receipts
    assert receipt.reason == "客户申请删除" and receipt.actor == erased.json["actor"]
    people = [e for e in fakes.audit.docs.values() if "people" in e.route]
    assert sorted((e.route, e.status) for e in people) == [
        ("POST /ops/people:erase", 200),  # the receipt
        ("POST /ops/people:erase", 403),  # who tried
    ]
    assert all("wm7" not in str(e.model_dump()) for e in fakes.audit.docs.values())


def test_a_retried_transfer_with_the_same_key_starts_one_transfer(ops, fakes) -> None:
    body = {"from_userid": "zhangsan", "to_userid": "lisi", "resigned": True, "groups": []}
    key = {**AUTH, "Idempotency-Key": "transfer-2026-11-23-1"}
    first = ops.post("/ops/transfers", headers=key, json=body)
    again = ops.post("/ops/transfers", headers=key, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json["id"] == again.json["id"] and len(fakes.transfers.docs) == 1
    other = ops.post("/ops/transfers", headers=key, json={**body, "to_userid": "wangwu"})
    assert other.status_code == 400 and other.json["field"] == "Idempotency-Key"
    fresh = ops.post("/ops/transfers", headers={**AUTH, "Idempotency-Key": "k2"}, json=body)
    assert fresh.json["id"] != first.json["id"] and len(fakes.transfers.docs) == 2


def test_grants_are_data_an_admin_changes(ops, fakes) -> None:
    admin = sign_in(ops, fakes, "boss")  # the first admin, by setting
    r = ops.put("/ops/members/zhao", headers=admin, json={"role": "operator", "branches": ["sh"]})
    assert r.status_code == 200 and r.json["updated_by"] == "boss"
    zhao = sign_in(ops, fakes, "zhao")
    assert ops.get("/ops/me", headers=zhao).json["role"] == "operator"
    refused = ops.put("/ops/members/zhao", headers=zhao, json={"role": "admin", "branches": ["*"]})
    assert refused.status_code == 403
    unknown = ops.put("/ops/members/x", headers=admin, json={"role": "viewer", "branches": ["gz"]})
    assert unknown.status_code == 400 and unknown.json["field"] == "branches"
    ops.put(
        "/ops/members/zhao",
        headers=admin,
        json={"role": "operator", "branches": ["sh"], "active": False},
    )
    assert ops.get("/ops/me", headers=zhao).status_code == 403


def test_the_funnel_by_branch_shows_a_branch_member_only_their_rows(ops, fakes) -> None:
    grant(fakes, "zhao", Role.VIEWER, ["bj"])
    session = sign_in(ops, fakes, "zhao")
    r = ops.get("/ops/reports/funnel?from=2026-11-01&to=2026-11-23&by=branch", headers=session)
    assert r.status_code == 200 and r.json["by"] == "branch"
    assert {row["value"] for row in r.json["rows"]} <= {"bj", "合计"}
    city = ops.get("/ops/reports/funnel?from=2026-11-01&to=2026-11-23&by=city", headers=session)
    assert city.status_code == 403
