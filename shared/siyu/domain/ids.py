"""Identifiers that become Firestore document ids: one check at every boundary.

Firestore refuses, or silently splits, ids that contain `/`, are `.` or `..`, match
`__.*__` (reserved), exceed 1,500 bytes, or are not valid UTF-8. An id from outside
(a path, a body, a WeCom callback) passes `check_doc_id` before it reaches a repository.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

MAX_ID_BYTES = 1_500
_RESERVED = re.compile(r"^__.*__$", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f]")


def doc_id_problem(value: str) -> str:
    """Why `value` cannot be a document id ("" when it can)."""
    if not value:
        return "must not be empty"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "must be valid UTF-8"
    if size > MAX_ID_BYTES:
        return f"at most {MAX_ID_BYTES} bytes, got {size}"
    if "/" in value:
        return "must not contain '/'"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if _RESERVED.match(value):
        return "must not look like __name__ (reserved by Firestore)"
    if _CONTROL.search(value):
        return "must not contain control characters"
    return ""


def check_doc_id(value: str) -> str:
    problem = doc_id_problem(value)
    if problem:
        raise ValueError(f"not a usable id: {problem}")
    return value


DocId = Annotated[str, AfterValidator(check_doc_id)]


def _empty_or_doc_id(value: str) -> str:
    return check_doc_id(value) if value else value


OptionalDocId = Annotated[str, AfterValidator(_empty_or_doc_id)]  # "" means not given
