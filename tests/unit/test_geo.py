"""Coordinate transforms against published reference points; haversine and geohash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.domain import geo
from siyu.domain.geo import CoordSystem

# (WGS-84 lat, lng) → (GCJ-02 lat, lng): the eviltransform project's published test points.
WGS_GCJ = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
# Beijing railway station as the R package `geoChina` documents it (5 decimals).
STATION_GCJ, STATION_BD = (39.90245, 116.42703), (39.90851, 116.43351)
# Tiananmen: WGS-84 (39.90734, 116.39089) and Amap's own conversion API answer.
TIANANMEN_WGS, TIANANMEN_AMAP_GCJ = (39.90734, 116.39089), (39.90874539, 116.39713623)


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_wgs84_to_gcj02_matches_reference(wgs, gcj) -> None:
    assert geo.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), WGS_GCJ)
def test_gcj02_input_comes_back_to_wgs84_within_a_centimetre(wgs, gcj) -> None:
    lat, lng = gcj
    back = geo.to_wgs84(lat, lng, CoordSystem.GCJ02)
    assert geo.haversine_m(*back, *wgs) < 0.01


def test_bd09_matches_the_documented_station() -> None:
    assert geo.gcj02_to_bd09(*STATION_GCJ) == pytest.approx(STATION_BD, abs=1e-5)
    assert geo.bd09_to_gcj02(*STATION_BD) == pytest.approx(STATION_GCJ, abs=1e-5)


def test_bd09_to_wgs84_goes_through_gcj02() -> None:
    wgs = geo.to_wgs84(*STATION_BD, CoordSystem.BD09)
    assert geo.haversine_m(*geo.wgs84_to_gcj02(*wgs), *STATION_GCJ) < 1.5


def test_within_a_metre_of_amaps_conversion_api() -> None:
    gcj = geo.wgs84_to_gcj02(*TIANANMEN_WGS)
    assert geo.haversine_m(*gcj, *TIANANMEN_AMAP_GCJ) < 1.0


def test_gcj02_is_the_identity_outside_china() -> None:
    assert geo.wgs84_to_gcj02(48.8584, 2.2945) == (48.8584, 2.2945)
    assert geo.to_wgs84(35.6812, 139.7671, CoordSystem.GCJ02) == (35.6812, 139.7671)  # Tokyo


@given(st.floats(18.2, 53.5), st.floats(73.7, 134.7))
def test_gcj02_round_trip_inside_china(lat, lng) -> None:
    back = geo.gcj02_to_wgs84(*geo.wgs84_to_gcj02(lat, lng))
    assert geo.haversine_m(*back, lat, lng) < 0.01


def test_haversine_uses_the_mean_radius() -> None:
    # One degree of latitude on a sphere of R = 6,371,008.8 m.
    assert geo.haversine_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.01)
    assert geo.haversine_m(31.2, 121.5, 31.2, 121.5) == 0.0


def test_geohash_matches_the_reference_encoding() -> None:
    assert geo.geohash(57.64911, 10.40744, 11) == "u4pruydqqvj"  # geohash.org's example
    assert geo.geohash(42.6, -5.6, 5) == "ezs42"  # Wikipedia's worked example
