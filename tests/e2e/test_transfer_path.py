"""Staff departure and reassignment over HTTP on the local stack, against the simulator's
transfer APIs (≤ 100 customers a call, 24-hour automatic takeover, customers who refuse)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import httpx

from siyu.devstack.waiting import until


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def add_customers(sim: httpx.Client, ops: httpx.Client, staff: str, n: int) -> list[str]:
    exts = [unique("wm") for _ in range(n)]

    def add(ext: str) -> None:
        sim.post(
            "/_sim/emit",
            json={
                "Event": "change_external_contact",
                "ChangeType": "add_external_contact",
                "UserID": staff,
                "ExternalUserID": ext,
                "WelcomeCode": "",
            },
        ).raise_for_status()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, exts))
    for ext in exts:
        assert until(partial(known, ops, ext), 60)
    return exts


def transfer_calls(sim: httpx.Client, api: str) -> int:
    return len(sim.get("/_sim/calls", params={"api": api}).json())


def status(ops: httpx.Client, transfer_id: str) -> dict[str, Any]:
    r = ops.get(f"/ops/transfers/{transfer_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_resigned_members_250_customers_move_in_3_calls_and_each_is_followed(sim, ops) -> None:
    leaver, heir = unique("leaver"), unique("heir")
    exts = add_customers(sim, ops, leaver, 250)
    refuser = exts[7]
    sim.post("/_sim/config", json={"refuse_transfer": [refuser]}).raise_for_status()
    api = "externalcontact/resigned/transfer_customer"
    before = transfer_calls(sim, api)
    r = ops.post(
        "/ops/transfers", json={"from_userid": leaver, "to_userid": heir, "resigned": True}
    )
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert transfer_calls(sim, api) - before == 3 and transfer["calls"] == 3
    assert transfer["counts"] == {"waiting": 250} and not transfer["final"]
    # Within the 24 hours only the refusal is final.
    early = status(ops, transfer["id"])
    assert early["counts"] == {"waiting": 249, "customer_refused": 1}
    sim.post("/_sim/config", json={"advance_s": 86_400}).raise_for_status()
    done = status(ops, transfer["id"])
    assert done["final"] and done["counts"] == {"succeeded": 249, "customer_refused": 1}
    by_customer = {c["external_userid"]: c["status"] for c in done["customers"]}
    assert sorted(by_customer) == sorted(exts) and by_customer[refuser] == "customer_refused"
    moved = ops.get(f"/ops/customers/{exts[0]}").json()
    relations = {r["staff_userid"]: r["status"] for r in moved["relations"]}
    assert relations == {leaver: "transferred", heir: "active"}
    stayed = ops.get(f"/ops/customers/{refuser}").json()
    assert {r["staff_userid"]: r["status"] for r in stayed["relations"]} == {leaver: "active"}
    again = status(ops, transfer["id"])  # final: nothing changes twice
    assert again["counts"] == done["counts"]


def test_a_serving_members_customer_moves_at_most_twice_in_90_days(sim, ops) -> None:
    """92125 / 40128: at most 2 transfers of a customer within any 90 natural days."""
    first, second, third = unique("a"), unique("b"), unique("c")
    [ext] = add_customers(sim, ops, first, 1)
    sim.post("/_sim/config", json={"refuse_transfer": []}).raise_for_status()
    for handover, takeover in ((first, second), (second, third)):
        body = {"from_userid": handover, "to_userid": takeover, "resigned": False}
        transfer = ops.post("/ops/transfers", json={**body, "customers": [ext]}).json()
        sim.post("/_sim/config", json={"advance_s": 86_400}).raise_for_status()
        assert status(ops, transfer["id"])["counts"] == {"succeeded": 1}
    body = {"from_userid": third, "to_userid": first, "resigned": False, "customers": [ext]}
    refused = ops.post("/ops/transfers", json=body).json()
    [entry] = refused["customers"]
    assert entry["status"] == "refused" and "2 times in the last 90 days" in entry["reason"]
    assert refused["calls"] == 0 and refused["final"]
    stranger = ops.post(
        "/ops/transfers",
        json={"from_userid": second, "to_userid": first, "resigned": True, "customers": [ext]},
    ).json()
    assert "not an active customer" in stranger["customers"][0]["reason"]
    bad = ops.post(
        "/ops/transfers", json={"from_userid": first, "to_userid": first, "resigned": True}
    )
    assert bad.status_code == 400


def known(ops: Any, external_userid: str) -> bool:
    return bool(ops.get(f"/ops/customers/{external_userid}").status_code == 200)
