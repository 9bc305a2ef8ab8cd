"""The group directory on the Firestore emulator: a new card-alert index starts from the
snapshot (a few documents) and the groups written since, not from one read per group."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from google.cloud import firestore

from siyu import bootstrap
from siyu.devstack.bench_cards import benefit_group, demo_groups
from siyu.devstack.counting import Counting
from siyu.domain.group_directory import unpack
from siyu.domain.groups import Group
from siyu.ports import GroupDirectoryStore, GroupRepo
from siyu.services.group_directory import GroupDirectory
from siyu.services.nearby_groups import NearbyGroupIndex
from siyu.services.ticks import Tick

N = 300


@pytest.fixture
def groups(cloud) -> list[Group]:
    repo = bootstrap.root().stores().groups
    now = datetime.now(UTC)
    made = [
        benefit_group(i, *g, now).model_copy(update={"member_count": 50})  # all with room
        for i, g in enumerate(demo_groups(N, seed=2))
    ]
    for group in made:
        repo.put(group)
    return made


def _counted_index() -> tuple[NearbyGroupIndex, Counting, Counting]:
    root = bootstrap.root()
    feed = Counting(root.stores().groups, reads={"changed_since": lambda r: len(r[0])})
    snapshot = Counting(
        root.stores().group_directory, reads={"manifest": 1, "parts": lambda r: len(r)}
    )
    index = NearbyGroupIndex(
        cast(GroupRepo, feed), root.clock, 200, 0.0, cast(GroupDirectoryStore, snapshot)
    )
    return index, feed, snapshot


def test_a_new_index_reads_the_snapshot_and_only_what_changed_since(groups) -> None:
    root = bootstrap.root()
    directory: GroupDirectory = root.group_directory()
    assert directory.tick(Tick()) == {"groups": N, "changed": N}  # the first: every group
    assert directory.tick(Tick()) == {"groups": N, "changed": 0}  # nothing new: no write

    index, feed, snapshot = _counted_index()
    index.refresh(force=True)
    assert (snapshot.read, feed.read) == (2, 0)  # the manifest and one part
    assert index.with_room() == N
    moved = groups[0].model_copy(update={"member_count": 200})  # now full
    root.stores().groups.put(moved)
    assert index.refresh(force=True) == 1 and feed.read == 1
    assert index.with_room() == N - 1

    # the next snapshot holds the change; a new index starts from it with nothing to read
    assert directory.tick(Tick()) == {"groups": N, "changed": 1}
    fresh, feed, snapshot = _counted_index()
    fresh.refresh(force=True)
    assert (snapshot.read, feed.read) == (2, 0) and fresh.with_room() == N - 1


def test_old_versions_are_pruned_but_the_previous_one_stays(groups, cloud) -> None:
    root = bootstrap.root()
    directory = root.group_directory()
    store = root.stores().group_directory
    versions = []
    for i in range(3):
        if i:
            root.stores().groups.put(groups[i].model_copy(update={"member_count": 10 + i}))
        directory.tick(Tick())
        manifest = store.manifest()
        assert manifest is not None
        versions.append(manifest.version)
    db = firestore.Client(project=cloud.emulators.env()["SIYU_PROJECT"])
    held: set[Any] = {
        (s.to_dict() or {}).get("version") for s in db.collection("group_directory").stream()
    }
    assert held == {versions[1], versions[2]}  # the one before stays for readers mid-way
    latest = store.manifest()
    assert latest is not None
    assert {g.chat_id: g.member_count for g in unpack(store.parts(latest))}[groups[2].chat_id] == 12
