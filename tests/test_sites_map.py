"""``lifecircle site --kind primary_school --add 3`` on the packaged Chengdu sample: sites.csv
with WGS84 and GCJ-02 coordinates, the ``newly_covered`` cells consistent with the figure after
each site, and sites.html in headless Chromium (offline, no console error, 3 numbered sites)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from lifecircle.data import sample_path
from lifecircle.scenarios.site import newly_covered
from tests.browser_helpers import opened


@pytest.fixture(scope="module")
def site_run(tmp_path_factory) -> Path:
    from lifecircle.cli import main

    out = tmp_path_factory.mktemp("site") / "sites"
    code = main(["site", "--osm", str(sample_path()), "--residential-density", "400",
                 "--kind", "primary_school", "--add", "3", "--out", str(out)])
    assert code == 0
    return out


def test_newly_covered_first_site_and_existing_excluded():
    from scipy import sparse

    within = sparse.csr_matrix(np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]], bool))
    got = newly_covered(within, np.array([False, False, False, True]))
    assert got.tolist() == [1, 3, 0, 0]


def test_sites_csv_has_wgs84_and_gcj02(site_run):
    with open(site_run / "sites.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["order"]) for r in rows] == [1, 2, 3]
    for row in rows:
        lon, lat = float(row["lon"]), float(row["lat"])
        assert 103.9 < lon < 104.3 and 30.5 < lat < 30.8  # central Chengdu
        # GCJ-02 shifts central Chengdu by a few hundred metres (about +0.0025°, -0.0024°)
        assert 0.001 < float(row["lon_gcj02"]) - lon < 0.004
        assert -0.004 < float(row["lat_gcj02"]) - lat < -0.001


def test_newly_covered_cells_match_the_gain_of_each_site(site_run):
    """Sites are added in order, so the cells a site covers first are exactly its gain: the
    people of those cells over the gain in share is the same total population for every site."""
    summary = json.loads((site_run / "sites.json").read_text(encoding="utf-8"))
    layers = {str(n) for n, _ in pyogrio.list_layers(site_run / "sites.gpkg")}
    assert {"sites", "newly_covered", "service_radius", "existing", "base_streets"} <= layers
    cells = gpd.read_file(site_run / "sites.gpkg", layer="newly_covered")
    gains = np.diff([summary["before"], *summary["after_each_site"]])
    people = cells.groupby("site")["population"].sum().reindex([1, 2, 3]).to_numpy()
    totals = people / gains
    assert totals == pytest.approx(np.full(3, totals[0]), rel=1e-6)
    assert totals[0] > 150_000  # the modelled population of the sample
    assert summary["newly_covered_population"] == pytest.approx(people.sum())
    # every newly covered cell lies within the straight-line radius of the site credited with it
    radius = gpd.read_file(site_run / "sites.gpkg", layer="service_radius")
    zone = dict(zip(radius["order"], radius.geometry, strict=True))
    centres = cells.geometry.centroid
    inside = [shapely.contains(zone[s], c) for s, c in zip(cells["site"], centres, strict=True)]
    assert all(inside)


@pytest.mark.browser
def test_sites_html_in_chromium(site_run):
    with opened(site_run / "sites.html", 1280, 800) as state:
        numbers = state.page.locator("div.lc-site").all_inner_texts()
        groups = state.page.evaluate("() => Object.keys(window.lifecircle.layers)")
        base = state.page.evaluate("() => Object.keys(window.lifecircle.base)")
        card = state.page.inner_text("#lc-sites-card")
    errors, requests = state.errors, state.requests
    assert errors == []
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
    assert sorted(numbers) == ["1", "2", "3"]
    assert {"sites", "service_radius", "existing", "newly_covered"} <= set(groups)
    assert "streets" in base
    assert "小学" in card and "→" in card
