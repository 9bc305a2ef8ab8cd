"""The grid index answers exactly what a brute-force haversine scan answers."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.domain.geo import haversine_m
from siyu.domain.spatial import NearestGrid

Point = tuple[str, float, float]


def brute_force(
    points: dict[str, tuple[float, float]], lat: float, lng: float, max_m: float | None
) -> tuple[str, float] | None:
    best = min(
        ((haversine_m(lat, lng, plat, plng), key) for key, (plat, plng) in points.items()),
        default=None,
    )
    if best is None or (max_m is not None and best[0] > max_m):
        return None
    return best[1], best[0]


def clustered_groups(rng: random.Random, n: int) -> dict[str, tuple[float, float]]:
    """Groups as banks place them: dense in a few cities, a sprinkle in between."""
    cities = [(31.23, 121.47), (39.90, 116.40), (22.54, 114.06), (30.57, 104.07), (43.82, 87.61)]
    points = {}
    for k in range(n):
        if k % 10 == 0:
            lat, lng = rng.uniform(18, 53), rng.uniform(73, 135)
        else:
            clat, clng = rng.choice(cities)
            lat, lng = clat + rng.gauss(0, 0.15), clng + rng.gauss(0, 0.15)
        points[f"g{k:05d}"] = (lat, lng)
    return points


RNG = random.Random(20261123)
GROUPS = clustered_groups(RNG, 10_000)
# Only groups with room are indexed: drop every seventh, as if full or dismissed.
WITH_ROOM = {k: v for i, (k, v) in enumerate(GROUPS.items()) if i % 7}
INDEX = NearestGrid()
for _key, (_lat, _lng) in GROUPS.items():
    INDEX.put(_key, _lat, _lng)
for _key in set(GROUPS) - set(WITH_ROOM):
    INDEX.remove(_key)


@settings(max_examples=300, deadline=None)
@given(
    lat=st.floats(18, 53),
    lng=st.floats(73, 135),
    max_m=st.one_of(st.none(), st.sampled_from([500.0, 5_000.0, 50_000.0])),
)
def test_nearest_with_room_matches_brute_force_over_10000_groups(lat, lng, max_m) -> None:
    assert INDEX.nearest(lat, lng, max_m) == brute_force(WITH_ROOM, lat, lng, max_m)


def test_queries_inside_the_cities_match_brute_force() -> None:
    rng = random.Random(7)
    for key in rng.sample(sorted(GROUPS), 200):
        lat, lng = GROUPS[key]
        lat, lng = lat + rng.gauss(0, 0.01), lng + rng.gauss(0, 0.01)
        assert INDEX.nearest(lat, lng, 5_000) == brute_force(WITH_ROOM, lat, lng, 5_000)


@settings(max_examples=200, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(-89.9, 89.9), st.floats(-180, 179.999)), min_size=0, max_size=40
    ),
    lat=st.floats(-89.9, 89.9),
    lng=st.floats(-180, 179.999),
    max_m=st.one_of(st.none(), st.floats(1, 3_000_000)),
    cell=st.sampled_from([0.01, 0.5, 10.0]),
)
def test_anywhere_on_earth_including_poles_and_the_antimeridian(points, lat, lng, max_m, cell):
    grid = NearestGrid(cell_deg=cell)
    named = {f"p{i}": p for i, p in enumerate(points)}
    for key, (plat, plng) in named.items():
        grid.put(key, plat, plng)
    assert grid.nearest(lat, lng, max_m) == brute_force(named, lat, lng, max_m)


def test_put_moves_and_remove_forgets() -> None:
    grid = NearestGrid()
    grid.put("a", 31.0, 121.0)
    grid.put("a", 39.9, 116.4)
    assert len(grid) == 1 and grid.nearest(39.9, 116.4, 10) == ("a", pytest.approx(0))
    grid.remove("a")
    grid.remove("a")
    assert "a" not in grid and grid.nearest(39.9, 116.4) is None


def test_ties_go_to_the_smaller_key() -> None:
    grid = NearestGrid()
    grid.put("b", 31.0, 121.0)
    grid.put("a", 31.0, 121.0)
    found = grid.nearest(31.0, 121.0001)
    assert found is not None and found[0] == "a"
