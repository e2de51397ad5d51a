"""Shared fixtures: the real data, read once per session.

Central Chengdu's OSM extract ships inside the package (``lifecircle/data``), so every Chengdu test
runs on a plain clone. Only the WorldPop Wuhan raster and boundary (CC BY 4.0, never copied into
the repository) are read from ``../shared`` beside the repo; tests needing them skip with a reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecircle.data import sample_path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CHENGDU_PBF = sample_path("chengdu_central.osm.pbf")
WUHAN_TIF = SHARED / "data" / "wuhan-worldpop" / "wuhan_pop_age20plus_100m.tif"
WUHAN_BOUNDARY = SHARED / "data" / "wuhan-worldpop" / "wuhan-boundary.shp"


@pytest.fixture(autouse=True)
def every_folder_drawn_from_memory_is_the_folder_read_back(monkeypatch):
    """Wherever a test writes an output folder whose map, figures and report use the layers
    in memory (:mod:`lifecircle.maps.as_written`), they must be what reading the folder back
    gives: every layer's columns, dtypes, geometry types and WKB, and the scorecard (so each
    test's inputs, rasters, facility files, compounds, check the emulation)."""
    from lifecircle.maps import folder as folder_module
    from tests.test_map_as_written import same_layers

    shared = folder_module.shared_reads

    def checked(out_dir, written=None):
        if written is not None:
            read = folder_module._read(Path(out_dir))
            assert written.scorecard == read.scorecard
            same_layers(written.layers, read.layers)
        return shared(out_dir, written)

    monkeypatch.setattr(folder_module, "shared_reads", checked)


def need(path: Path) -> Path:
    """Skip the test with a clear reason when a shared data file (Wuhan) is absent."""
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (tests read ../shared/data beside the repo)")
    return path


@pytest.fixture(scope="session")
def chengdu_extract():
    from lifecircle.layers.osm import read_osm

    return read_osm(CHENGDU_PBF)


@pytest.fixture(scope="session")
def chengdu_xml(tmp_path_factory) -> Path:
    """The packaged Chengdu PBF rewritten as OSM XML by pyosmium (same objects, other format)."""
    import osmium

    path = tmp_path_factory.mktemp("chengdu-xml") / "chengdu_central.osm"
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(CHENGDU_PBF)):
            writer.add(obj)
    return path


@pytest.fixture(scope="session")
def chengdu_network(chengdu_extract):
    from lifecircle.layers.network import network_from_extract

    return network_from_extract(chengdu_extract)


@pytest.fixture(scope="session")
def chengdu_facilities(chengdu_extract, chengdu_network):
    from lifecircle.layers.facilities import facilities_from_osm

    return facilities_from_osm(chengdu_extract.features, chengdu_network.crs)
