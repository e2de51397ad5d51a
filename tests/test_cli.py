"""The CLI end to end: real Chengdu data, the demo, and the output contract."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest

from lifecircle.cli import main
from lifecircle.seeds import kind_names
from tests.conftest import CHENGDU_PBF
from tests.osm_fixture import write_small_osm


@pytest.fixture(scope="module")
def chengdu_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cd") / "cd"
    code = main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                 "--out", str(out)])
    assert code == 0
    return out


def test_chengdu_scorecard(chengdu_run):
    card = json.loads((chengdu_run / "scorecard.json").read_text(encoding="utf-8"))
    metrics = card["metrics"]
    assert 0 <= metrics["walk_coverage.primary_school"]["value"] <= 1
    present = [k for k in kind_names() if card["metrics"][f"facility_count.{k}"]["value"] > 0]
    for kind in present:
        assert 0 <= metrics[f"walk_coverage.{kind}"]["value"] <= 1
    # Chengdu's 2018 OSM maps no elderly care: a missing layer, not zero coverage
    assert "nursing_home" in card["missing_layers"]
    assert "walk_coverage.nursing_home" not in metrics
    # modelled at 400 people per hectare of the residential land inside the study area
    land_ha = metrics["park_service_radius_coverage"]["residential_ha"]
    assert card["population"]["total"] == pytest.approx(400 * land_ha, rel=1e-6)
    # the PBF declares the box it was cut to (8.4 × 8.3 km, as the XML's <bounds>): that box is
    # the study area, not the 139 km² hull of the whole ways crossing its edge
    area = card["study_area"]
    assert area["source"] == "bounds declared by the OSM file"
    assert 6900 < area["area_ha"] < 7050
    assert card["population"]["source"].startswith("modelled:")
    assert set(card) >= {"study_area", "population", "metrics", "targets", "inputs", "version"}


def test_chengdu_geopackage(chengdu_run):
    layers = {name for name, _ in pyogrio.list_layers(chengdu_run / "coverage.gpkg")}
    assert {"population", "facilities"} <= layers
    cells = gpd.read_file(chengdu_run / "coverage.gpkg", layer="population")
    assert "dist_primary_school" in cells.columns
    card = json.loads((chengdu_run / "scorecard.json").read_text(encoding="utf-8"))
    assert cells["population"].sum() == pytest.approx(card["population"]["total"], rel=1e-9)


def test_small_area_run_and_nothing_left_behind(tmp_path):
    osm = write_small_osm(tmp_path / "small.osm")
    out = tmp_path / "out"
    assert main(["run", "--osm", str(osm), "--residential-density", "100", "--out", str(out)]) == 0
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    # on a 700 m grid only the far corner is more than 1000 m of walking from the clinic
    assert 0.9 < card["metrics"]["walk_coverage.health_centre"]["value"] < 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.osm"]


def test_rerun_is_byte_identical(tmp_path):
    osm = write_small_osm(tmp_path / "small.osm")
    texts = []
    for name in ("a", "b"):
        main(["run", "--osm", str(osm), "--residential-density", "100",
              "--out", str(tmp_path / name)])
        texts.append((tmp_path / name / "scorecard.json").read_bytes())
    assert texts[0] == texts[1]


def test_console_script_exit_codes(tmp_path):
    """Through a real process: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "lifecircle.cli", "run", "--osm", str(tmp_path / "nope.osm.pbf"),
         "--residential-density", "400", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "nope.osm.pbf: file not found" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_chengdu_scores_every_measurable_target(chengdu_run):
    card = json.loads((chengdu_run / "scorecard.json").read_text(encoding="utf-8"))
    targets = {t["id"]: t for t in card["targets"]}
    park = targets["sichuan_park_service_radius_coverage_2028"]
    assert park["target"] == 0.86 and park["year"] == 2028
    # Sichuan's 86 % names the activity-space indicator (squares counted); its tiers are assumed
    assert park["metric"] == "park_activity_space_coverage"
    activity = card["metrics"]["park_activity_space_coverage"]
    assert park["value"] == pytest.approx(activity["value"])
    assert park["status"] == "assumed — not judged" and park["met"] is None
    assert activity["value"] >= card["metrics"]["park_service_radius_coverage"]["value"]
    # a partial life circle is never scored
    assert targets["sichuan_15min_public_service_circle_2028"]["status"] == "not measured"
    # a run on Chengdu scores Sichuan's and the nation's targets only
    assert {t["id"].split("_")[0] for t in card["targets"]} <= {"sichuan", "national", "chengdu"}
    for target in card["targets"]:
        record = card["metrics"].get(target["metric"], {})
        judged = record.get("value") is not None and record.get("status") == "measured"
        # every target whose metric was measured without assumptions is judged; the rest say
        # why not
        assert (target["status"] in ("met", "not met")) == judged, target["id"]


def test_no_flags_say_what_turning_off_does(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert "--no-figures no PNG figures (and no report.pdf)" in text
    assert "--no-report no report.html or report.pdf" in text
    assert "--no-osm-facilities facilities from the given files only" in text
    assert "--no-figures draw" not in text
