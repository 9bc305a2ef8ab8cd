"""JSON from outside, parsed only after its nesting depth is known to be sane.

Python's json module recurses once per level: 10,000 nested brackets raise RecursionError
(a 500) before any model sees the body. A linear scan counts the depth first.
"""

from __future__ import annotations

import json
from typing import Any

from siyu.domain.errors import InvalidInput

MAX_DEPTH = 32


def depth_over(body: bytes, limit: int) -> bool:
    """True when brackets outside strings nest deeper than `limit`."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # no deeper than its opening brackets: no byte-by-byte scan (C speed)
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def check_depth(body: bytes, field: str = "body", max_depth: int = MAX_DEPTH) -> None:
    if depth_over(body, max_depth):
        raise InvalidInput(field, f"JSON nested deeper than {max_depth} levels")


def loads(body: bytes, field: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON or raise InvalidInput naming `field`: malformed, or nested too deeply."""
    check_depth(body, field, max_depth)
    try:
        return json.loads(body or b"null")
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(field, "not valid JSON") from exc
