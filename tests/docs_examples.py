"""The examples copied from WeCom's documentation pages into tests/data/wecom_docs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCS = Path(__file__).parent / "data" / "wecom_docs"

# The customer-contact callbacks (92130, 92005); every other example is an app message or
# event that arrives at the same URL and is only acknowledged.
CUSTOMER_EVENTS = sorted(p.stem for p in DOCS.glob("92*.xml"))
OTHER_MESSAGES = sorted(p.stem for p in DOCS.glob("90*.xml"))


def xml(name: str) -> bytes:
    """The example as WeCom sends it, without the comment naming its page."""
    text = (DOCS / f"{name}.xml").read_text()
    return text.split("-->", 1)[1].strip().encode()


def example(name: str) -> dict[str, Any]:
    return dict(json.loads((DOCS / f"{name}.json").read_text())["example"])
