"""Ops identity on the local stack, over HTTP: members sign in through the simulator's
WeCom web login (98152, 98176), a viewer's write is refused, an operator of one branch
cannot touch another's group, every change is in the audit log with its actor and diff, and
a retried transfer POST with the same Idempotency-Key starts one transfer."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx

from siyu.devstack.stack import LOCAL_FIRST_ADMIN, StackConfig
from siyu.domain.sessions import SESSION_COOKIE, STATE_COOKIE
from tests.e2e.test_transfer_path import add_customers, transfer_calls
from tests.functions.test_ops_identity import GROUP


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _cookie(response: httpx.Response, name: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar[name].value


def sign_in(stack: StackConfig, userid: str) -> httpx.Client:
    """A browser's round trip, by hand: the cookies are Secure, which httpx keeps off
    plain-http requests, so each hop carries the one it needs."""
    gateway = httpx.Client(base_url=stack.gateway_url, timeout=15)
    start = gateway.get("/ops/login", params={"next": "/ops/me"})
    assert start.status_code == 302, start.text
    page = httpx.get(start.headers["Location"], timeout=15)
    assert page.status_code == 200 and "扫码" in page.text
    fields = {k: v[0] for k, v in parse_qs(urlsplit(start.headers["Location"]).query).items()}
    scanned = httpx.post(
        f"{stack.simulator_url}/wwlogin/sso/scan", data={**fields, "userid": userid}, timeout=15
    )
    assert scanned.status_code == 302
    callback = urlsplit(scanned.headers["Location"])
    assert callback.path == "/ops/login/callback"
    back = gateway.get(
        f"/ops/login/callback?{callback.query}",
        headers={"Cookie": f"{STATE_COOKIE}={_cookie(start, STATE_COOKIE)}"},
    )
    assert back.status_code == 303, back.text
    assert back.headers["Location"] == "/ops/me"
    session = f"{SESSION_COOKIE}={_cookie(back, SESSION_COOKIE)}"
    return httpx.Client(base_url=stack.gateway_url, timeout=15, headers={"Cookie": session})


def test_roles_branches_audit_and_idempotent_transfers(stack, sim, ops) -> None:
    admin = sign_in(stack, LOCAL_FIRST_ADMIN)
    me = admin.get("/ops/me").json()
    assert me["role"] == "admin" and me["branches"] == ["*"]
    east, north = unique("east"), unique("north")
    for branch, name in ((east, "华东分行"), (north, "华北分行")):
        assert admin.put(f"/ops/branches/{branch}", json={"name": name}).status_code == 200
    viewer, operator = unique("viewer"), unique("operator")
    for userid, role in ((viewer, "viewer"), (operator, "operator")):
        r = admin.put(f"/ops/members/{userid}", json={"role": role, "branches": [east]})
        assert r.status_code == 200, r.text

    east_group, north_group = unique("wr_east"), unique("wr_north")
    for chat_id in (east_group, north_group):
        sim.post("/_sim/groups", json={"chat_id": chat_id, "owner": "zhangsan"}).raise_for_status()
    spec = GROUP
    assert ops.put(f"/ops/groups/{north_group}", json={**spec, "branch": north}).status_code == 200

    # A viewer reads but does not write.
    as_viewer = sign_in(stack, viewer)
    refused = as_viewer.put(f"/ops/groups/{east_group}", json={**spec, "branch": east})
    assert refused.status_code == 403 and "viewer" in refused.json()["message"]

    # An operator of the east branch: their own branch yes, the north one no.
    as_operator = sign_in(stack, operator)
    made = as_operator.put(f"/ops/groups/{east_group}", json={**spec, "branch": east})
    assert made.status_code == 200, made.text
    renamed = {**spec, "name": "陆家嘴午餐群", "branch": east}
    assert as_operator.put(f"/ops/groups/{east_group}", json=renamed).status_code == 200
    north_refused = as_operator.put(f"/ops/groups/{north_group}", json={**spec, "branch": east})
    assert north_refused.status_code == 403 and f"branch {north}" in north_refused.json()["message"]
    assert ops.get(f"/ops/groups/{north_group}").json()["name"] == "陆家嘴美食群"
    listed = as_operator.get("/ops/groups", params={"limit": 1000}).json()
    assert east_group in {g["chat_id"] for g in listed}
    assert north_group not in {g["chat_id"] for g in listed}

    # Every change, and every refusal, in the audit log with actor and diff.
    trail = ops.get("/ops/audit", params={"target": f"chat_id={east_group}"}).json()
    by_actor = [(e["actor"], e["status"]) for e in trail]
    assert by_actor == [(operator, 200), (operator, 200), (viewer, 403)]
    assert trail[0]["before"]["name"] == "陆家嘴美食群"
    assert trail[0]["after"]["name"] == "陆家嘴午餐群"
    assert "city" not in trail[0]["after"]  # only what changed
    north_trail = ops.get("/ops/audit", params={"target": f"chat_id={north_group}"}).json()
    assert [(e["actor"], e["status"]) for e in north_trail] == [
        (operator, 403),
        (stack_token_identity(), 200),
    ]
    grants = ops.get("/ops/audit", params={"actor": LOCAL_FIRST_ADMIN}).json()
    assert {e["target"] for e in grants} >= {f"userid={viewer}", f"userid={operator}"}
    assert as_operator.get("/ops/audit").status_code == 403  # the log is an admin's

    # A transfer retried with its key (the answer was lost) starts one transfer.
    leaver, heir = unique("leaver"), unique("heir")
    add_customers(sim, ops, leaver, 3)
    api = "externalcontact/resigned/transfer_customer"
    before = transfer_calls(sim, api)
    body = {"from_userid": leaver, "to_userid": heir, "resigned": True}
    key = {"Idempotency-Key": unique("transfer")}
    first = ops.post("/ops/transfers", json=body, headers=key)
    again = ops.post("/ops/transfers", json=body, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json()["id"] == again.json()["id"]
    assert transfer_calls(sim, api) - before == 1
    [made_once] = ops.get("/ops/audit", params={"target": f"id={first.json()['id']}"}).json()
    assert made_once["route"] == "POST /ops/transfers"


def stack_token_identity() -> str:
    from siyu.config import Settings

    return Settings().token_identity
