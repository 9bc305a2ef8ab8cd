"""Start background processes in their own session, wait for health, stop them by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


class StackError(RuntimeError):
    """The local stack cannot start; the message names what is missing or failed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start argv detached in a new session (so stopping it stops its children); return PID."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    return proc.pid


def wait_http(
    url: str, ok: Callable[[httpx.Response], bool], timeout_s: float, pid: int, log_path: Path
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            raise StackError(f"process {pid} exited; see {log_path}:\n{tail(log_path)}")
        try:
            if ok(httpx.get(url, timeout=1.0)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise StackError(
        f"{url} not healthy after {timeout_s:.0f} s; see {log_path}:\n{tail(log_path)}"
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    # So does anyone's zombie (the `siyu up` that started it has exited, and a container's
    # init may never reap it).
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def stop(pid: int, grace_s: float = 5.0) -> None:
    """SIGTERM the process group the PID leads, then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.05)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
