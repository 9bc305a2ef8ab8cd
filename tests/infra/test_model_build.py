"""siyu's models are built on first use (`siyu.domain.model.Model`): importing an entry
point builds none of them, and many threads using a model for the first time at once all
get it whole (pydantic's rebuild is locked since 2.14; pyproject requires it)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Models instantiated by a module-level default (referral tiers, the follow-up cadence):
# validated, hence built, as their module is imported.
CONSTANTS = ["Cadence", "Tier"]


def _run(code: str) -> dict[str, object]:
    """Run in a fresh interpreter (nothing built yet) and read the JSON it prints."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT / "functions" / "card_alert",
        env={"PYTHONPATH": str(ROOT / "shared"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_importing_an_entry_point_builds_no_model() -> None:
    found = _run(
        """
        import json
        import main
        from siyu.domain.model import Model

        def walk(cls):
            for sub in cls.__subclasses__():
                yield sub
                yield from walk(sub)

        models = list(walk(Model))
        built = [m.__qualname__ for m in models if m.__pydantic_complete__]
        print(json.dumps({"models": len(models), "built": built}))
        """
    )
    assert int(str(found["models"])) > 20  # card_alert's imports define many models
    built = found["built"]
    assert isinstance(built, list) and sorted(built) == CONSTANTS


def test_first_use_from_many_threads_at_once_validates_whole_models() -> None:
    found = _run(
        """
        import json, threading
        from siyu.domain.card_alerts import CardAlert

        body = json.dumps({
            "txn_id": "t1", "bank_customer_id": "bc1", "amount": "58.00",
            "currency": "CNY", "occurred_at": "2026-11-23T12:00:00+08:00",
            "merchant": {"name": "m", "mcc": "5812", "city": "深圳",
                         "lat": 22.54, "lng": 114.05, "coord_system": "wgs84"},
        })
        start, dumps, errors = threading.Barrier(32), [], []

        def first_use():
            start.wait()
            try:
                dumps.append(CardAlert.model_validate_json(body).model_dump(mode="json"))
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=first_use) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(json.dumps({"dumps": dumps, "errors": errors}))
        """
    )
    assert found["errors"] == []
    dumps = found["dumps"]
    assert isinstance(dumps, list) and len(dumps) == 32
    assert all(d == dumps[0] for d in dumps)
    assert dumps[0]["txn_id"] == "t1"
    assert dumps[0]["merchant"]["city"] == "深圳"
