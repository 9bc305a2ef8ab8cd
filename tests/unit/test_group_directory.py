"""The group directory's snapshot: groups packed into parts under the size limit and back."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.domain.group_directory import merged, pack, unpack
from siyu.domain.groups import Group

AT = datetime(2026, 12, 4, tzinfo=UTC)


def _groups(n: int) -> list[Group]:
    return [
        Group(chat_id=f"wr{i:05d}", name=f"福利群{i}", join_url=f"https://j/{i}", updated_at=AT)
        for i in range(n)
    ]


def test_groups_split_into_parts_under_the_limit_and_come_back_in_order() -> None:
    groups = _groups(2_000)
    parts = pack(list(reversed(groups)), part_bytes=8_000)
    assert len(parts) > 1 and all(len(p) <= 8_000 for p in parts)
    assert unpack(parts) == groups


def test_no_groups_is_one_empty_part_and_changes_replace_their_group() -> None:
    assert unpack(pack([])) == []
    old = _groups(3)
    full = old[1].model_copy(update={"member_count": 200})
    new = Group(chat_id="wr99999", updated_at=AT)
    assert merged(old, [full, new]) == [old[0], full, old[2], new]
