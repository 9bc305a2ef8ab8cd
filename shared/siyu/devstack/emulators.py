"""Google's Firestore and Pub/Sub emulators as shipped in this machine image, and a Cloud
Storage emulator from PyPI (Google ships none) that the real storage client talks to."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import httpx

from siyu.devstack.procs import StackError, spawn, wait_http

SDK = Path("/usr/lib/google-cloud-sdk/platform")
FIRESTORE_JAR = SDK / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
PUBSUB_BIN = SDK / "pubsub-emulator" / "bin" / "cloud-pubsub-emulator"


def check_prerequisites() -> str:
    """Return the java path, or fail naming exactly what is missing (never skip silently)."""
    missing = []
    java = shutil.which("java")
    if java is None:
        missing.append("Java 17+ (`java` on PATH), needed by both emulators")
    if not FIRESTORE_JAR.is_file():
        missing.append(f"the Firestore emulator jar at {FIRESTORE_JAR}")
    if not PUBSUB_BIN.is_file():
        missing.append(f"the Pub/Sub emulator launcher at {PUBSUB_BIN}")
    if missing:
        raise StackError(
            "cannot start the local emulators; missing: "
            + "; ".join(missing)
            + ". They ship with the Google Cloud SDK packages "
            "(google-cloud-cli-firestore-emulator, google-cloud-cli-pubsub-emulator)."
        )
    assert java is not None
    return java


def start_firestore(port: int, logs: Path) -> int:
    java = check_prerequisites()
    log = logs / "firestore.log"
    pid = spawn(
        [
            java,
            "-Duser.language=en",
            "-cp",
            str(FIRESTORE_JAR),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "start",
            "--host=127.0.0.1",
            f"--port={port}",
        ],
        log,
    )
    wait_http(f"http://127.0.0.1:{port}/", lambda r: r.text.strip() == "Ok", 60, pid, log)
    return pid


def start_pubsub(port: int, logs: Path) -> int:
    check_prerequisites()
    log = logs / "pubsub.log"
    pid = spawn([str(PUBSUB_BIN), "--host=127.0.0.1", f"--port={port}"], log)
    wait_http(f"http://127.0.0.1:{port}/", lambda r: r.status_code == 200, 60, pid, log)
    return pid


def wipe_firestore(port: int, project: str, databases: tuple[str, ...] = ("(default)",)) -> None:
    """Delete every document of each database (the emulator's reset endpoint)."""
    for database in databases:
        url = (
            f"http://127.0.0.1:{port}/emulator/v1/projects/{project}/databases/{database}/documents"
        )
        httpx.delete(url, timeout=10).raise_for_status()


def start_storage(port: int, logs: Path) -> int:
    """gcp-storage-emulator (a dev dependency), in memory: the media bucket of the stack."""
    log = logs / "storage.log"
    argv = [sys.executable, "-m", "gcp_storage_emulator", "start", "--host=127.0.0.1"]
    pid = spawn([*argv, f"--port={port}", "--in-memory"], log)
    wait_http(f"http://127.0.0.1:{port}/", lambda r: r.status_code < 500, 60, pid, log)
    return pid


def create_bucket(port: int, project: str, bucket: str) -> None:
    """What Terraform declares in production (google_storage_bucket.media)."""
    r = httpx.post(
        f"http://127.0.0.1:{port}/storage/v1/b",
        params={"project": project},
        json={"name": bucket},
        timeout=10,
    )
    if r.status_code not in (200, 409):
        r.raise_for_status()
