"""`--osm-compounds`: compound walls and gates read from a small OSM XML written here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lifecircle.config import RunConfig
from lifecircle.layers.osm_compounds import compounds_from_osm
from lifecircle.layers.study import load_study
from lifecircle.pipeline import run
from tests.osm_fixture import DLAT, DLON, LAT0, LON0, write_small_osm
from tests.test_walking_runs import _compound_files

UTM = "EPSG:32648"


def _with_walls(path):
    """The fixture grid plus: a wall ring (grid 3.2-4.8, the compound of test_walking_runs) with
    a gate on its west wall and a locked one on its east wall, a fence nested inside it, a fenced
    shed under 2,000 m², and a private residential landuse without a gate."""
    write_small_osm(path)
    nodes, ways = [], []
    ids = iter(range(90001, 99999))

    def node(i, j, tags=None):
        k = next(ids)
        body = "".join(f"<tag k='{a}' v='{b}'/>" for a, b in (tags or {}).items())
        nodes.append(f"<node id='{k}' lat='{LAT0 + j * DLAT:.7f}' lon='{LON0 + i * DLON:.7f}'>"
                     f"{body}</node>")
        return k

    def ring(i0, j0, i1, j1, tags):
        c = [node(i0, j0), node(i1, j0), node(i1, j1), node(i0, j1)]
        refs = "".join(f"<nd ref='{r}'/>" for r in [*c, c[0]])
        body = "".join(f"<tag k='{a}' v='{b}'/>" for a, b in tags.items())
        ways.append(f"<way id='{next(ids)}'>{refs}{body}</way>")

    ring(3.2, 3.2, 4.8, 4.8, {"barrier": "wall", "name": "锦绣花园"})
    ring(3.4, 3.4, 4.0, 4.0, {"barrier": "fence"})  # inside the wall: the outer wall counts
    ring(1.2, 5.2, 1.5, 5.5, {"barrier": "fence"})  # 30 m x 27 m: a yard, not a compound
    ring(5.2, 0.2, 6.8, 0.8, {"landuse": "residential", "access": "private"})
    node(3.2, 4.0, {"barrier": "gate"})
    node(4.8, 4.0, {"barrier": "gate", "access": "no"})  # locked
    text = path.read_text(encoding="utf-8")
    first_way = text.index("<way")
    text = text[:first_way] + "\n".join(nodes) + "\n" + text[first_way:]
    text = text.replace("</osm>", "\n".join(ways) + "\n</osm>")
    path.write_text(text, encoding="utf-8")
    return path


def test_walls_and_gates_from_osm(tmp_path):
    osm = _with_walls(tmp_path / "walls.osm")
    base = load_study(RunConfig(osm=osm, residential_density=100))
    compounds, gates = compounds_from_osm(osm, UTM, base.residential)
    assert sorted(compounds["source"]) == ["barrier", "landuse"]
    assert compounds.loc[compounds["source"] == "barrier", "name"].item() == "锦绣花园"
    wall = compounds.loc[compounds["source"] == "barrier"].geometry.item()
    assert 1.5e4 < wall.area < 3e4  # 160 m x 144 m
    assert len(gates) == 1  # the locked gate opens nothing

    # a run with the mapped walls equals the run with the same compound and gate as files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the private landuse has no gate: treated as open
        mapped = load_study(RunConfig(osm=osm, residential_density=100, osm_compounds=True))
        files = _compound_files(tmp_path)
        given = load_study(RunConfig(osm=osm, residential_density=100, compounds=files[0],
                                     gates=files[1]))
    assert mapped.cost.compounds.gated.sum() == 1 and mapped.cost.compounds.n_gates.sum() == 1
    a, b = run(mapped), run(given)
    for kind in ("health_centre", "primary_school"):
        np.testing.assert_allclose(a.cells[f"dist_{kind}"], b.cells[f"dist_{kind}"], atol=1e-6)
    assert "OSM walls" in a.scorecard()["walking"]["compounds"]["file"]


def test_no_walls_mapped_warns_and_stays_open(tmp_path):
    osm = write_small_osm(tmp_path / "plain.osm")
    with pytest.warns(UserWarning, match="no gated compound mapped"):
        study = load_study(RunConfig(osm=osm, residential_density=100, osm_compounds=True))
    assert study.cost is None


def test_osm_compounds_and_a_compounds_file_conflict(tmp_path):
    osm = _with_walls(tmp_path / "walls.osm")
    compounds, _ = _compound_files(tmp_path)
    with pytest.raises(ValueError, match="not both"):  # refused before anything is read
        RunConfig(osm=osm, residential_density=100, osm_compounds=True, compounds=compounds)
