"""The `siyu` command: gcloud-style verbs over the ops API, bulk imports, and the local stack.

Ops verbs call SIYU_OPS_URL with SIYU_OPS_BEARER (a Google ID token in production); without
them they call the local stack. `siyu import` and `siyu recount` write to Firestore: the
local stack's emulator when it runs, else the project in SIYU_PROJECT with the ambient
credentials.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from siyu.devstack.procs import StackError
from siyu.ops_client import OpsClient, OpsError, funnel_table, render

FORMATS = ("table", "json", "csv")
OPS_NOUNS = {
    "customers",
    "groups",
    "campaigns",
    "transfers",
    "followups",
    "tag-rules",
    "reports",
    "channels",
    "media",
    "group-codes",
    "audit",
    "members",
    "branches",
    "people",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siyu", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start emulators, WeCom simulator and functions in the background")
    sub.add_parser("down", help="stop what `siyu up` started, by PID")
    sub.add_parser("status", help="each process of the stack: PID alive, port answering")
    dlq = sub.add_parser("dlq", help="dead letters of a topic: list them or publish them again")
    dlq.add_argument("verb", choices=["list", "replay"])
    dlq.add_argument("topic", help="the topic, e.g. wecom-events (its queue is <topic>-dlq)")
    dlq.add_argument("--id", default=None, help="replay only the message with this id")
    restart = sub.add_parser("restart", help="bring one process of the stack back")
    restart.add_argument("process", choices=["gateway", "worker", "simulator"])
    sub.add_parser("run", help="up, seed demo data, play the demo scenario, summarise, down")
    sub.add_parser("demo", help="seed and play the demo scenario against a running stack")
    tick = sub.add_parser("tick", help="publish a scheduler tick on the running stack")
    tick.add_argument("function", help="a scheduled function, e.g. on_followup_tick")
    tick.add_argument("--days", type=float, default=0, help="run it as of this many days ahead")
    cal = sub.add_parser("calendar", help="official holiday schedules")
    cal.add_subparsers(dest="verb", required=True).add_parser(
        "load", help="load a year (JSON: year, holidays, working_days)"
    ).add_argument("file", help="JSON file of one year, or a list of years")

    recount = sub.add_parser(
        "recount", help="rebuild the funnel's daily tallies from its milestones (past days)"
    )
    recount.add_argument("--from", dest="from_", required=True, help="YYYY-MM-DD (Shanghai)")
    recount.add_argument("--to", required=True, help="YYYY-MM-DD, before today")

    imp = sub.add_parser("import", help="validate a CSV and write it in batches, resumably")
    imp.add_argument("kind", choices=["groups", "customers"])
    imp.add_argument("file")
    imp.add_argument("--batch", type=int, default=500, help="rows per BulkWriter batch")

    def verbs(noun: str, help_text: str) -> Any:
        return sub.add_parser(noun, help=help_text).add_subparsers(dest="verb", required=True)

    def fmt(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--format", choices=FORMATS, default="table")
        return p

    customers = verbs("customers", "WeCom customers")
    fmt(customers.add_parser("get")).add_argument("external_userid")
    groups = verbs("groups", "benefit groups")
    fmt(groups.add_parser("list")).add_argument("--city", default="")
    put = fmt(groups.add_parser("put", help="register a group from a JSON file"))
    put.add_argument("chat_id")
    put.add_argument("--file", required=True, help="JSON: name, owner_userid, city, lat, …")
    campaigns = verbs("campaigns", "benefit campaigns")
    fmt(campaigns.add_parser("list"))
    fmt(campaigns.add_parser("preview")).add_argument("campaign_id")
    cancel = fmt(campaigns.add_parser("cancel", help="pull back a run's unsent 群发 tasks"))
    cancel.add_argument("campaign_id")
    cancel.add_argument("occurrence", help="the run's occurrence key, e.g. 2026-11-25")
    channels = verbs("channels", "acquisition channels and their 联系我 QR codes")
    fmt(channels.add_parser("list"))
    fmt(channels.add_parser("get")).add_argument("state")
    fmt(channels.add_parser("delete", help="delete the channel's QR code")).add_argument("state")
    put_channel = fmt(channels.add_parser("put", help="create or change from a JSON file"))
    put_channel.add_argument("state")
    put_channel.add_argument("--file", required=True, help="JSON: name, welcome_text, staff, …")
    media = verbs("media", "the content library")
    fmt(media.add_parser("list"))
    add_media = fmt(media.add_parser("add", help="upload an image, video or file once"))
    add_media.add_argument("file")
    add_media.add_argument("--kind", choices=["image", "video", "file"], required=True)
    codes = verbs("group-codes", "group QR codes that move on when a group fills up")
    fmt(codes.add_parser("list"))
    put_code = fmt(codes.add_parser("put", help="create or change from a JSON file"))
    put_code.add_argument("code_id")
    put_code.add_argument("--file", required=True, help="JSON: name, city, kinds, area_geohash")
    transfers = verbs("transfers", "customer handovers")
    create = fmt(transfers.add_parser("create"))
    create.add_argument("--from", dest="from_userid", required=True)
    create.add_argument("--to", dest="to_userid", required=True)
    create.add_argument("--resigned", action="store_true", help="the member has left (离职继承)")
    create.add_argument("--customers", default="", help="external_userids, comma-separated")
    create.add_argument(
        "--idempotency-key", default="", help="repeat a command with its key: one transfer"
    )
    fmt(transfers.add_parser("status")).add_argument("transfer_id")
    followups = verbs("followups", "staff follow-up tasks")
    fmt(followups.add_parser("list")).add_argument("--staff", required=True)
    done = fmt(followups.add_parser("done", help="mark a follow-up done"))
    done.add_argument("followup_id")
    done.add_argument("--note", default="")
    snooze = fmt(followups.add_parser("snooze", help="make a follow-up due again later"))
    snooze.add_argument("followup_id")
    when = snooze.add_mutually_exclusive_group(required=True)
    when.add_argument("--until", help="ISO 8601 with an offset, e.g. 2026-12-01T09:00+08:00")
    when.add_argument("--days", type=float, help="this many days from now")
    snooze.add_argument("--note", default="")
    rules = verbs("tag-rules", "tag rules")
    fmt(rules.add_parser("preview", help="who would gain or lose the tag")).add_argument(
        "file", help="JSON rule body: tag, when (and id to stand in for a saved rule)"
    )
    fmt(rules.add_parser("backfill", help="how far a saved rule has reached")).add_argument(
        "rule_id"
    )
    reports = verbs("reports", "analytics")
    funnel = fmt(reports.add_parser("funnel"))
    funnel.add_argument("--from", dest="from_", required=True, help="YYYY-MM-DD")
    funnel.add_argument("--to", required=True, help="YYYY-MM-DD")
    funnel.add_argument("--by", choices=["channel", "staff", "city", "branch"], default="channel")
    audit = fmt(sub.add_parser("audit", help="the audit log: who changed what, newest first"))
    audit.add_argument("--target", default="", help="e.g. chat_id=wrA1")
    audit.add_argument("--actor", default="", help="a WeCom userid or a service account")
    audit.add_argument("--from", dest="from_", default=None, help="YYYY-MM-DD (Shanghai)")
    audit.add_argument("--to", default=None, help="YYYY-MM-DD (Shanghai)")
    audit.add_argument("--limit", type=int, default=200)
    members = verbs("members", "who may use ops, with which role over which branches")
    fmt(members.add_parser("list"))
    grant = fmt(members.add_parser("put", help="grant a role (admins only)"))
    grant.add_argument("userid", help="a WeCom userid, or a service account's email")
    grant.add_argument("--role", choices=["viewer", "operator", "admin"], required=True)
    grant.add_argument("--branches", required=True, help='comma-separated ids, or "*"')
    grant.add_argument("--name", default="")
    grant.add_argument("--inactive", action="store_true", help="revoke: no sign-in, no calls")
    people = verbs("people", "a person's data on request (admins only): export or erase")
    for verb, help_text in (
        ("export", "everything siyu holds about one person, as one JSON document"),
        ("erase", "erase one person everywhere; prints the receipt"),
    ):
        person = people.add_parser(verb, help=help_text)
        person.add_argument("--external-userid", default=None)
        person.add_argument("--bank-customer-id", default=None)
        if verb == "erase":
            person.add_argument("--reason", required=True, help="kept in the erasure receipt")
    branches = verbs("branches", "the 分行/支行 tree")
    fmt(branches.add_parser("list"))
    put_branch = fmt(branches.add_parser("put"))
    put_branch.add_argument("branch_id")
    put_branch.add_argument("--name", required=True)
    put_branch.add_argument("--parent", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from siyu.devstack import stack

    cfg = stack.StackConfig.from_env()
    try:
        if args.command in OPS_NOUNS:
            ops = OpsClient.from_env(cfg.gateway_url, cfg.env()["SIYU_OPS_TOKEN"])
            print(_ops(ops, args))
        elif args.command == "import":
            return _import(cfg, args)
        elif args.command == "recount":
            return _recount(cfg, args)
        elif args.command == "dlq":
            return _dlq(cfg, args)
        elif args.command == "up":
            info = stack.up(cfg)
            print(
                f"siyu stack up: gateway {cfg.gateway_url}, worker {cfg.worker_url}, WeCom "
                f"simulator {cfg.simulator_url}; pids {info.pids}"
            )
            # Secrets (ops token, partner keys) stay in the owner-only stack.json.
            shown = {k: v for k, v in info.env.items() if k.endswith("_HOST")}
            print("export " + " ".join(f"{k}={v}" for k, v in shown.items()))
            print(stack.console_note(cfg))
        elif args.command == "down":
            stopped = stack.down(cfg.state_dir)
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        elif args.command == "tick":
            from siyu.devstack import scheduler

            ahead = datetime.now(UTC) + timedelta(days=args.days) if args.days else None
            print(f"published {scheduler.tick(cfg, args.function, as_of=ahead)}")
        elif args.command == "calendar":
            from siyu.devstack.calendar_load import load_years

            for line in load_years(cfg, args.file):
                print(line)
        elif args.command == "status":
            rows = stack.status(cfg)
            if not rows:
                print("no stack is running here")
                return 1
            for row in rows:
                state = "ok" if row.healthy else ("port silent" if row.alive else "dead")
                print(f"{row.name:<10} pid {row.pid:<8} port {row.port:<6} {state}")
            return 0 if all(r.healthy for r in rows) else 1
        elif args.command == "restart":
            print(f"{args.process} restarted: pid {stack.restart(cfg, args.process)}")
        else:
            from siyu.devstack import scenario

            if args.command == "demo":
                print(scenario.play_all(cfg))
            else:
                stack.up(cfg)
                try:
                    print(scenario.play_all(cfg))
                    print(stack.console_note(cfg) + "\n(`make up` keeps it running.)")
                finally:
                    stack.down(cfg.state_dir)
    except (StackError, OpsError) as exc:
        print(f"siyu: {exc}", file=sys.stderr)
        return 2
    return 0


def _all_groups(ops: OpsClient, city: str, page: int = 500) -> list[Any]:
    """Every group of the city, page after page (the API answers at most `page` at once)."""
    found: list[Any] = []
    while True:
        params = {"city": city, "limit": page, "after": found[-1]["chat_id"] if found else ""}
        batch = ops.call("GET", "/ops/groups", params=params)
        found += batch
        if len(batch) < page:
            return found


def _ops(ops: OpsClient, args: argparse.Namespace) -> str:
    noun, verb, fmt = args.command, getattr(args, "verb", ""), getattr(args, "format", "json")
    if noun in CONTENT_NOUNS:
        return _content(ops, args)
    if noun in ("audit", "members", "branches"):
        return _identity(ops, args)
    if noun == "people":
        body = {"external_userid": args.external_userid, "bank_customer_id": args.bank_customer_id}
        body = {k: v for k, v in body.items() if v} | (
            {"reason": args.reason} if verb == "erase" else {}
        )
        found = ops.call("POST", f"/ops/people:{verb}", json=body)
        return json.dumps(found, ensure_ascii=False, indent=2)
    if noun == "customers":
        return render(ops.call("GET", f"/ops/customers/{args.external_userid}"), "customer", fmt)
    if noun == "groups" and verb == "list":
        return render(_all_groups(ops, args.city), "groups", fmt)
    if noun == "groups":
        body = json.loads(Path(args.file).read_text())
        return render(ops.call("PUT", f"/ops/groups/{args.chat_id}", json=body), "groups", fmt)
    if noun == "campaigns" and verb == "list":
        return render(ops.call("GET", "/ops/campaigns"), "campaigns", fmt)
    if noun == "campaigns" and verb == "cancel":
        path = f"/ops/campaigns/{args.campaign_id}/runs/{args.occurrence}:cancel"
        return render(ops.call("POST", path)["tasks"], "run_cancel", fmt)
    if noun == "campaigns":
        preview = ops.call("POST", f"/ops/campaigns/{args.campaign_id}/preview")
        return render(preview, "preview", fmt)
    if noun == "transfers" and verb == "create":
        body = {
            "from_userid": args.from_userid,
            "to_userid": args.to_userid,
            "resigned": args.resigned,
            "customers": [c for c in args.customers.split(",") if c] or None,
        }
        # One key per command: a retry after a lost answer returns the first transfer.
        key = {"Idempotency-Key": args.idempotency_key or uuid.uuid4().hex}
        return render(ops.call("POST", "/ops/transfers", json=body, headers=key), "transfer", fmt)
    if noun == "transfers":
        return render(ops.call("GET", f"/ops/transfers/{args.transfer_id}"), "transfer", fmt)
    if noun == "followups":
        return render(_followups(ops, args), "followups", fmt)
    if noun == "tag-rules" and verb == "preview":
        body = json.loads(Path(args.file).read_text())
        return render(ops.call("POST", "/ops/tag-rules:preview", json=body), "rule_preview", fmt)
    if noun == "tag-rules":
        return render(ops.call("GET", f"/ops/tag-rules/{args.rule_id}/backfill"), "backfill", fmt)
    params = {"from": args.from_, "to": args.to, "by": args.by}
    return funnel_table(ops.call("GET", "/ops/reports/funnel", params=params), fmt)


def _identity(ops: OpsClient, args: argparse.Namespace) -> str:
    """The audit log, grants and branches."""
    noun, fmt = args.command, args.format
    if noun == "audit":
        query = {"target": args.target, "actor": args.actor, "limit": args.limit}
        query |= {k: v for k, v in (("from", args.from_), ("to", args.to)) if v}
        return render(ops.call("GET", "/ops/audit", params=query), "audit", fmt)
    if args.verb == "list":
        return render(ops.call("GET", f"/ops/{noun}"), noun, fmt)
    if noun == "members":
        body = {
            "role": args.role,
            "branches": [b for b in args.branches.split(",") if b],
            "name": args.name,
            "active": not args.inactive,
        }
        return render(ops.call("PUT", f"/ops/members/{args.userid}", json=body), noun, fmt)
    body = {"name": args.name, "parent": args.parent}
    return render(ops.call("PUT", f"/ops/branches/{args.branch_id}", json=body), noun, fmt)


CONTENT_NOUNS = {"channels": "channels", "media": "media", "group-codes": "group_codes"}


def _content(ops: OpsClient, args: argparse.Namespace) -> str:
    """channels, media and group-codes: list, get, put (a JSON file), delete, add (a file)."""
    noun, verb = args.command, args.verb
    base = f"/ops/{noun}"
    if verb == "list":
        found = ops.call("GET", base)
    elif verb == "add":
        data = Path(args.file).read_bytes()
        body = {
            "kind": args.kind,
            "filename": Path(args.file).name,
            "content_base64": base64.b64encode(data).decode(),
        }
        found = ops.call("POST", base, json=body)
    elif verb == "put":
        key = args.state if noun == "channels" else args.code_id
        found = ops.call("PUT", f"{base}/{key}", json=json.loads(Path(args.file).read_text()))
    else:
        found = ops.call("DELETE" if verb == "delete" else "GET", f"{base}/{args.state}")
    return render(found, CONTENT_NOUNS[noun], args.format)


def _followups(ops: OpsClient, args: argparse.Namespace) -> Any:
    if args.verb == "list":
        return ops.call("GET", "/ops/followups", params={"staff": args.staff})
    path = f"/ops/followups/{args.followup_id}:{args.verb}"
    if args.verb == "done":
        return ops.call("POST", path, json={"note": args.note})
    until = args.until or (datetime.now(UTC) + timedelta(days=args.days)).isoformat()
    return ops.call("POST", path, json={"until": until, "note": args.note})


def _dlq(cfg: Any, args: argparse.Namespace) -> int:
    """Against the running local stack, or production with GOOGLE_CLOUD_PROJECT set."""
    from siyu.devstack import stack

    if stack.load(cfg.state_dir) and "PUBSUB_EMULATOR_HOST" not in os.environ:
        os.environ.update(cfg.env())
    from siyu.adapters import dead_letters

    project = os.environ.get("SIYU_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT", "")
    if args.verb == "list":
        letters = dead_letters.list_dead(project, args.topic)
        for letter in letters:
            data = letter.data.decode("utf-8", "replace")[:160]
            print(f"{letter.message_id}  {letter.published_at}  {letter.reason}\n    {data}")
        print(f"{len(letters)} dead letters in {args.topic}-dlq")
        return 0
    replayed = dead_letters.replay(project, args.topic, args.id)
    print(f"replayed {len(replayed)} to {args.topic}: {', '.join(replayed) or 'none'}")
    return 0 if replayed or args.id is None else 1


def _to_firestore(cfg: Any) -> None:
    """The running local stack's emulator when there is one, else SIYU_PROJECT's Firestore."""
    from siyu.devstack import stack

    if stack.load(cfg.state_dir) and "FIRESTORE_EMULATOR_HOST" not in os.environ:
        os.environ.update(cfg.env())


def _recount(cfg: Any, args: argparse.Namespace) -> int:
    """Straight to Firestore, as `import`: a one-off for days recorded before tallies."""
    _to_firestore(cfg)
    from siyu.bootstrap import root
    from siyu.domain.campaigns import SHANGHAI

    first, last = date.fromisoformat(args.from_), date.fromisoformat(args.to)
    if last < first or last >= root().clock.now().astimezone(SHANGHAI).date():
        print("siyu: recount past days only: --from <= --to, before today", file=sys.stderr)
        return 2
    print(f"{root().funnel().recount(first, last)} tallies written for {first}..{last}")
    return 0


def _import(cfg: Any, args: argparse.Namespace) -> int:
    """Validate every row, write the good ones resumably; each failure is one line."""
    _to_firestore(cfg)
    from siyu.adapters.firestore.bulk_import import BulkImporter, Checkpoint
    from siyu.adapters.spreadsheets import SheetError, read_table
    from siyu.bootstrap import root
    from siyu.domain.audit import Change
    from siyu.services.imports import run_import

    path = Path(args.file)
    try:
        table = read_table(path)
    except SheetError as exc:
        print(f"siyu: {exc}", file=sys.stderr)
        return 2
    with _progress(f"importing {path.name}") as show:
        try:
            result = run_import(
                args.kind,
                table,
                BulkImporter(root().db(), root().clock),
                Checkpoint(cfg.state_dir / "imports", table.model_dump_json().encode()),
                show,
                batch_size=args.batch,
            )
        except Exception as exc:  # Firestore unreachable, credentials, quota: one line
            print(
                f"siyu: {path}: writing stopped: {_first_line(exc)}; run again to resume",
                file=sys.stderr,
            )
            return 2
    for error in result.errors:
        print(f"siyu: {path}: {error}", file=sys.stderr)
    # An import writes Firestore directly, not through ops_api: it is audited here.
    imported = Change(
        actor=os.environ.get("SIYU_ACTOR") or f"cli:{getpass.getuser()}",
        actor_kind="cli",
        route=f"CLI import {args.kind}",
        target=f"file={path.name}",
        status=207 if result.errors else 200,
        after={"rows": result.rows, "written": result.written, "refused": len(result.errors)},
    )
    root().audit_trail().record(imported)
    print(
        f"{args.kind}: {result.rows} rows, {result.written} written, "
        f"{result.skipped_as_done} already written by an interrupted run, "
        f"{len(result.errors)} refused"
    )
    return 1 if result.errors else 0


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal; nothing when stderr is a pipe or a file (CI, logs)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


if __name__ == "__main__":
    sys.exit(main())
