"""A run lets go of what it no longer needs: networks are freed with their index, and
``to_folder(keep_layers=False)`` drops the layers and the street geometry once written."""

from __future__ import annotations

import gc
import json
import weakref

import pytest

from lifecircle.coverage.engine import node_index
from lifecircle.data import sample_path
from lifecircle.layers.network import network_from_extract


def test_an_indexed_network_is_freed_with_its_index(chengdu_extract):
    network = network_from_extract(chengdu_extract)
    index = node_index(network)
    assert node_index(network) is index  # built once per network
    alive = weakref.ref(network), weakref.ref(index)
    del network, index
    gc.collect()
    assert [ref() for ref in alive] == [None, None]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    import lifecircle

    study = lifecircle.Study.from_osm(sample_path(), residential_density=400)
    result = lifecircle.run(study, lifecircle.RunConfig(osm=sample_path(), report=False,
                                                        figures=False))
    before = result.scorecard()
    streets = weakref.ref(study.network)
    out = tmp_path_factory.mktemp("lean") / "out"
    del study
    result.to_folder(out, keep_layers=False)
    gc.collect()
    return result, before, streets, out


def test_keep_layers_false_frees_layers_and_streets(written):
    result, _, streets, _ = written
    assert result.layers == {}
    assert result.study.extract is None
    assert "geometry" not in result.study.network.edges.columns
    assert streets() is None  # the run's network with its 1.5M lines at 50x is gone


def test_the_scorecard_survives_the_release(written):
    result, before, _, out = written
    after = result.scorecard()
    assert after == before
    on_disk = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    for key, value in after["study_area"].items():  # the file holds 10 significant digits
        assert on_disk["study_area"][key] == (pytest.approx(value, rel=1e-8)
                                              if isinstance(value, float) else value)
    assert on_disk["study_area"]["network_nodes"] > 20_000
