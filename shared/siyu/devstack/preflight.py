"""Fail fast, naming what is missing, when the emulators the tests need are not installed."""

from __future__ import annotations

import sys

from siyu.devstack.emulators import check_prerequisites
from siyu.devstack.procs import StackError

if __name__ == "__main__":
    try:
        check_prerequisites()
    except StackError as exc:
        print(f"make test: {exc}", file=sys.stderr)
        sys.exit(2)
    print("preflight: java and both emulators found")
