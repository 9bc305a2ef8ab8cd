"""The `siyu` command: the local stack for developers, and ops helpers."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

from siyu.devstack.procs import StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="siyu", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start emulators, WeCom simulator and functions in the background")
    sub.add_parser("down", help="stop what `siyu up` started, by PID")
    sub.add_parser("status", help="show the running stack")
    sub.add_parser("run", help="up, seed demo data, play the demo scenario, summarise, down")
    sub.add_parser("demo", help="seed and play the demo scenario against a running stack")
    tick = sub.add_parser("tick", help="publish a scheduler tick on the running stack")
    tick.add_argument("function", help="a scheduled function, e.g. on_followup_tick")
    tick.add_argument("--days", type=float, default=0, help="run it as of this many days ahead")
    cal = sub.add_parser("calendar", help="official holiday schedules")
    cal_sub = cal.add_subparsers(dest="calendar_command", required=True)
    load = cal_sub.add_parser("load", help="load a year (JSON: year, holidays, working_days)")
    load.add_argument("file", help="JSON file of one year, or a list of years")
    args = parser.parse_args(argv)

    from siyu.devstack import stack

    cfg = stack.StackConfig.from_env()
    try:
        if args.command == "up":
            info = stack.up(cfg)
            print(
                f"siyu stack up: gateway {cfg.gateway_url}, WeCom simulator "
                f"{cfg.simulator_url}; pids {info.pids}"
            )
            print("export " + " ".join(f"{k}={v}" for k, v in info.env.items()))
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
            loaded = stack.load(cfg.state_dir)
            print(json.dumps(loaded.__dict__ if loaded else {"running": False}, indent=2))
        else:
            from siyu.devstack import scenario

            if args.command == "demo":
                print(scenario.play_all(cfg))
            else:
                stack.up(cfg)
                try:
                    print(scenario.play_all(cfg))
                finally:
                    stack.down(cfg.state_dir)
    except StackError as exc:
        print(f"siyu: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
