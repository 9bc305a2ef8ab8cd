"""The group directory: every benefit group in a few compressed documents, so a new card-alert
instance loads the index with a handful of reads instead of one per group.

A snapshot is a manifest (`group_directory/manifest`) naming its version, its parts and the
watermark of the last group write it holds; the parts (`group_directory/{version}-{n}`)
hold the groups as zlib-compressed JSON, each under Firestore's 1 MiB document limit. A
reader takes the snapshot, then the change feed from its watermark, exactly as before."""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from siyu.domain.groups import Group
from siyu.domain.model import Model

PART_BYTES = 900_000  # compressed bytes per part: under 1 MiB with the fields around them
_GROUPS = TypeAdapter(list[Group])


class Manifest(Model):
    version: str  # a new one per snapshot; parts of older versions are deleted later
    parts: int
    groups: int
    watermark: Any = None  # the change feed's watermark (Firestore's commit time) it is at
    built_at: datetime

    def part_ids(self) -> list[str]:
        return [f"{self.version}-{n}" for n in range(self.parts)]


def pack(groups: list[Group], part_bytes: int = PART_BYTES) -> list[bytes]:
    """The groups in parts of at most `part_bytes` compressed bytes, in chat-id order."""
    ordered = sorted(groups, key=lambda g: g.chat_id)
    parts: list[bytes] = []
    start = 0
    while True:
        size = len(ordered) - start
        blob = _compressed(ordered[start : start + size])
        while len(blob) > part_bytes and size > 1:
            size = max(1, int(size * part_bytes / len(blob) * 0.9))
            blob = _compressed(ordered[start : start + size])
        parts.append(blob)
        start += size
        if start >= len(ordered):
            return parts


def unpack(parts: list[bytes]) -> list[Group]:
    return [g for part in parts for g in _GROUPS.validate_json(zlib.decompress(part))]


def merged(current: list[Group], changed: list[Group]) -> list[Group]:
    """The snapshot's groups with the changed ones in their place (new ones added)."""
    by_id = {g.chat_id: g for g in current}
    by_id.update({g.chat_id: g for g in changed})
    return list(by_id.values())


def _compressed(groups: list[Group]) -> bytes:
    data = json.dumps([g.model_dump(mode="json") for g in groups], ensure_ascii=False)
    return zlib.compress(data.encode(), level=6)
