"""Shared fixtures: the real data in ../shared, read once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CHENGDU_PBF = SHARED / "data" / "chengdu-central" / "chengdu_central.osm.pbf"
CHENGDU_XML = SHARED / "data" / "chengdu-central" / "chengdu_central.osm"
WUHAN_TIF = SHARED / "data" / "wuhan-worldpop" / "wuhan_pop_age20plus_100m.tif"
WUHAN_BOUNDARY = SHARED / "data" / "wuhan-worldpop" / "wuhan-boundary.shp"


def need(path: Path) -> Path:
    """Skip the test with a clear reason when a shared data file is absent."""
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (tests read ../shared/data beside the repo)")
    return path


@pytest.fixture(scope="session")
def chengdu_extract():
    from lifecircle.layers.osm import read_osm

    return read_osm(need(CHENGDU_PBF))


@pytest.fixture(scope="session")
def chengdu_network(chengdu_extract):
    from lifecircle.layers.network import network_from_extract

    return network_from_extract(chengdu_extract)


@pytest.fixture(scope="session")
def chengdu_facilities(chengdu_extract, chengdu_network):
    from lifecircle.layers.facilities import facilities_from_osm

    return facilities_from_osm(chengdu_extract.features, chengdu_network.crs)
