"""The `siyu` command against the local stack: imports (bad rows, interruption, resume) and
gcloud-style verbs with table, json and csv output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from siyu.adapters.firestore.store import as_document
from siyu.devstack.stack import StackConfig
from siyu.devstack.waiting import until
from siyu.domain.campaigns import SHANGHAI
from siyu.domain.funnel import Dims, Milestone, record


def siyu(stack: StackConfig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.control_env()}
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    return subprocess.run(
        [sys.executable, "-m", "siyu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def count(db: firestore.Client, collection: str, field: str, prefix: str) -> int:
    query = (
        db.collection(collection)
        .where(filter=FieldFilter(field, ">=", prefix))
        .where(filter=FieldFilter(field, "<", prefix + "\uf8ff"))
    )
    answer: Any = query.count().get()  # type: ignore[call-arg]  # the stubs miss get()'s defaults
    [[result]] = answer
    return int(result.value)


def test_a_csv_with_bad_rows_writes_only_the_good_ones(stack, db, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    rows = [
        "chat_id,name,owner_userid,city,kind,lat,lng,coord_system,tags",
        f"wr_{tag}_1,静安福利群,zhangsan,上海,food,31.22,121.44,gcj02,美食|早餐",
        f"wr_{tag}_2,坏纬度群,zhangsan,上海,food,91,121.44,wgs84,",
        f"wr_{tag}_3,没有坐标系群,zhangsan,上海,food,31.22,121.44,,",
        f"wr_{tag}_4,陆家嘴福利群,lisi,上海,food,31.23,121.50,wgs84,",
        f"bad id {tag},空格群,lisi,上海,food,31.23,121.50,wgs84,",
    ]
    csv_file = tmp_path / "groups.csv"
    csv_file.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = siyu(stack, "import", "groups", str(csv_file))
    assert result.returncode == 1, result.stderr
    assert "row 3, column lat:" in result.stderr
    assert "row 4, column coord_system:" in result.stderr
    assert "row 6, column chat_id:" in result.stderr
    assert "5 rows, 2 written, 0 already written by an interrupted run, 3 refused" in result.stdout
    assert count(db, "groups", "chat_id", f"wr_{tag}_") == 2
    stored = db.collection("groups").document(f"wr_{tag}_1").get().to_dict()
    assert stored["tags"] == ["美食", "早餐"] and abs(stored["location"]["lat"] - 31.22) > 0.001
    listed = siyu(stack, "groups", "list", "--city", "上海", "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    assert f"wr_{tag}_4,陆家嘴福利群,lisi,上海,0,open," in listed.stdout.splitlines()


def test_an_interrupted_import_resumes_without_writing_rows_twice(stack, db, tmp_path) -> None:
    tag = uuid.uuid4().hex[:6]
    lines = ["bank_customer_id,external_userid,age,aum_band,birthday"]
    lines += [
        f"bc{tag}{n:05d},wm{tag}{n:05d},{20 + n % 60},0-10万,1990-03-{1 + n % 28:02d}"
        for n in range(6000)
    ]
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text("\n".join(lines) + "\n")
    env = {**os.environ, **stack.control_env()}
    env.pop("FIRESTORE_EMULATOR_HOST", None)
    first = subprocess.Popen(
        [sys.executable, "-m", "siyu.cli", "import", "customers", str(csv_file), "--batch", "50"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkpoints = stack.state_dir / "imports"
    assert until(lambda: any(checkpoints.glob("*.json")), 120), first.communicate()
    first.send_signal(signal.SIGKILL)  # the operator's laptop dies mid-import
    first.wait()
    [checkpoint] = checkpoints.glob("*.json")
    done = json.loads(checkpoint.read_text())["rows_done"]
    assert 0 < done < 6000
    second = siyu(stack, "import", "customers", str(csv_file), "--batch", "500")
    assert second.returncode == 0, second.stderr
    resumed = int(second.stdout.split(", ")[2].split()[0])
    written = int(second.stdout.split(", ")[1].split()[0])
    assert resumed >= done and resumed + written == 6000
    assert count(db, "bank_customers", "bank_customer_id", f"bc{tag}") == 6000
    assert not any(checkpoints.glob("*.json"))
    one = db.collection("bank_customers").document(f"bc{tag}00007").get().to_dict()
    assert one["profile"] == {"age": 27, "aum_band": "0-10万", "birthday": "03-08"}
    assert one["birthday_md"] == "03-08" and one["external_userid"] == f"wm{tag}00007"


def test_verbs_render_table_json_and_csv(stack) -> None:
    unknown = siyu(stack, "customers", "get", "wm_nobody")
    assert unknown.returncode == 2 and "HTTP 404" in unknown.stderr
    listed = siyu(stack, "campaigns", "list", "--format", "json")
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)
    report = siyu(
        stack, "reports", "funnel", "--from", "2026-11-01", "--to", "2026-12-31", "--by", "staff"
    )
    assert report.returncode == 0, report.stderr
    header = report.stdout.splitlines()[0].split()
    assert header == [
        "staff",
        "added",
        "welcomed",
        "joined_group",
        "first_purchase",
        "repeat",
        "lost",
        "referral_credited",
        "deleted",
    ]
    assert report.stdout.splitlines()[-1].startswith("合计")
    bad = siyu(stack, "reports", "funnel", "--from", "2026-12-01", "--to", "2026-11-01")
    assert bad.returncode == 2 and "before" in bad.stderr


def test_groups_put_campaign_preview_and_transfers_from_the_command_line(
    stack, sim, tmp_path
) -> None:
    tag = uuid.uuid4().hex[:6]
    chat_id = f"wr_cli_{tag}"
    sim.post("/_sim/groups", json={"chat_id": chat_id, "owner": "cli_owner"}).raise_for_status()
    spec = tmp_path / "group.json"
    spec.write_text(
        json.dumps(
            {
                "name": "命令行福利群",
                "owner_userid": "cli_owner",
                "city": "杭州",
                "kind": "food",
                "lat": 30.26,
                "lng": 120.13,
                "coord_system": "wgs84",
            }
        )
    )
    put = siyu(stack, "groups", "put", chat_id, "--file", str(spec))
    assert put.returncode == 0, put.stderr
    assert put.stdout.splitlines()[0].split() == [
        "chat_id",
        "name",
        "owner",
        "city",
        "members",
        "status",
        "tags",
    ]
    ops = stack.ops_client()
    campaign = {
        "name": "杭州早餐",
        "schedule": {"kind": "daily", "at": "07:30"},
        "active_from": "2026-11-01",
        "audience": {"kind": "groups", "cities": ["杭州"]},
        "content": {"text": "{date}{campaign}"},
    }
    ops.put(f"/ops/campaigns/cli_{tag}", json=campaign).raise_for_status()
    preview = siyu(stack, "campaigns", "preview", f"cli_{tag}", "--format", "csv")
    assert preview.returncode == 0, preview.stderr
    [_header, row] = preview.stdout.splitlines()
    assert row.startswith(f"cli_{tag},") and ",1,0,1," in row  # audience, opted out, batches
    created = siyu(
        stack,
        "transfers",
        "create",
        "--from",
        f"nobody_{tag}",
        "--to",
        "heir",
        "--resigned",
        "--format",
        "json",
    )
    assert created.returncode == 0, created.stderr
    transfer = json.loads(created.stdout)
    assert transfer["customers"] == [] and transfer["final"]
    shown = siyu(stack, "transfers", "status", transfer["id"])
    assert shown.returncode == 0 and transfer["id"] in shown.stdout


def test_grants_branches_and_the_audit_log_from_the_command_line(stack, tmp_path) -> None:
    tag = uuid.uuid4().hex[:6]
    branch = siyu(stack, "branches", "put", f"sh-{tag}", "--name", "上海分行")
    assert branch.returncode == 0, branch.stderr
    member = f"zhao_{tag}"
    put = siyu(stack, "members", "put", member, "--role", "viewer", "--branches", f"sh-{tag}")
    assert put.returncode == 0, put.stderr
    assert member in siyu(stack, "members", "list", "--format", "csv").stdout
    csv_file = tmp_path / "groups.csv"
    csv_file.write_text(
        "chat_id,name,owner_userid,city,kind,lat,lng,coord_system,tags\n"
        f"wr_{tag}_a,静安福利群,zhangsan,上海,food,31.22,121.44,gcj02,\n",
        encoding="utf-8",
    )
    assert siyu(stack, "import", "groups", str(csv_file)).returncode == 0
    granted = siyu(stack, "audit", "--target", f"userid={member}", "--format", "csv")
    assert granted.returncode == 0, granted.stderr
    header, row = granted.stdout.splitlines()[:2]
    assert header.startswith("at,actor,route,target,status")
    assert ",ops-token,PUT /ops/members/{userid}," in row and "role=viewer" in row
    imported = siyu(stack, "audit", "--target", "file=groups.csv", "--format", "json")
    assert imported.returncode == 0, imported.stderr
    entries = json.loads(imported.stdout)
    assert entries[0]["route"] == "CLI import groups" and entries[0]["actor_kind"] == "cli"
    assert entries[0]["after"]["written"] == 1


def test_people_export_and_erase_from_the_command_line(stack) -> None:
    bank_id = f"bcCLI{uuid.uuid4().hex[:8]}"
    ops = httpx.Client(
        base_url=stack.gateway_url,
        headers={"Authorization": f"Bearer {stack.env()['SIYU_OPS_TOKEN']}"},
    )
    assert ops.put(f"/ops/bank-customers/{bank_id}", json={"unionid": "u-cli"}).status_code == 200
    exported = siyu(stack, "people", "export", "--bank-customer-id", bank_id)
    assert exported.returncode == 0, exported.stderr
    held = json.loads(exported.stdout)
    assert held["collections"]["bank_customers"][0]["data"]["unionid"] == "u-cli"
    erased = siyu(stack, "people", "erase", "--bank-customer-id", bank_id, "--reason", "客户申请")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["collections"]["bank_customers"] == 1
    assert bank_id not in erased.stdout
    gone = siyu(stack, "people", "export", "--bank-customer-id", bank_id)
    assert gone.returncode != 0 and "nothing" in gone.stderr


def test_recount_rebuilds_past_days_tallies_from_milestones_alone(stack, db) -> None:
    """Milestones of a day recorded before tallies were kept: the report sees them only after
    `siyu recount`, and recounting again changes nothing."""
    channel = f"旧渠道{uuid.uuid4().hex[:6]}"
    at = datetime(2024, 2, 29, 12, 0, tzinfo=SHANGHAI)
    for n, milestone in enumerate([Milestone.ADDED, Milestone.ADDED, Milestone.WELCOMED]):
        mark = record(milestone, f"{channel}-{n}", at, Dims(channel=channel), f"wm{n}")
        db.collection("funnel").document(mark.id).set(as_document(mark))
    report = ["reports", "funnel", "--from", "2024-02-29", "--to", "2024-02-29", "--format", "csv"]

    def row() -> list[str]:
        listed = siyu(stack, *report)
        assert listed.returncode == 0, listed.stderr
        return [line for line in listed.stdout.splitlines() if line.startswith(channel)]

    assert row() == []
    for _ in range(2):
        recounted = siyu(stack, "recount", "--from", "2024-02-29", "--to", "2024-02-29")
        assert recounted.returncode == 0, recounted.stderr
        assert row() == [f"{channel},2,1,0,0,0,0,0,0"]
    today = datetime.now(SHANGHAI).date().isoformat()
    refused = siyu(stack, "recount", "--from", "2024-02-29", "--to", today)
    assert refused.returncode == 2 and "before today" in refused.stderr
