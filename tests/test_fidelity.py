"""Figures an analyst can defend: no verdict from partial or assumed inputs, the targets of the
study's region only, refused CRSs and regions, the GB 50180 kinds and the data-coverage check."""

from __future__ import annotations

import json

import pytest

from lifecircle.cli import main
from tests.conftest import CHENGDU_PBF

FAST = ["--no-figures", "--no-report"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


@pytest.mark.bad_input
@pytest.mark.parametrize("argv", [
    ["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400", "--region", "四州"],
    ["targets", "--region", "火星"],
])
def test_an_unknown_region_lists_the_known_ones(tmp_path, capsys, argv):
    out = ["--out", str(tmp_path / "o")] if argv[0] == "run" else []
    assert main([*argv, *out]) == 2
    err = _one_line(capsys)
    assert "unknown region; known: 全国, 四川省" in err and "渠县" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.bad_input
@pytest.mark.parametrize(("crs", "distortion"), [("EPSG:32601", "85."), ("EPSG:3857", "16.")])
def test_a_crs_that_distorts_chengdu_is_refused(tmp_path, capsys, crs, distortion):
    assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400", "--crs", crs,
                 "--out", str(tmp_path / "o")]) == 2
    err = _one_line(capsys)
    assert f"--crs {crs}: distorts distances here by {distortion}" in err
    assert not (tmp_path / "o").exists()


def test_one_kind_never_scores_the_life_circle(tmp_path):
    out = tmp_path / "c"
    assert main(["catchments", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                 "--kind", "primary_school", "--region", "四川", *FAST, "--out", str(out)]) == 0
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    circle = card["metrics"]["life_circle_15min_complete"]
    assert circle["value"] is None and circle["status"] == "not measured"
    assert "kindergarten" in circle["reason"] and "market" in circle["reason"]
    target = next(t for t in card["targets"]
                  if t["id"] == "sichuan_15min_public_service_circle_2028")
    assert target["status"] == "not measured" and target["met"] is None


def test_beds_from_assumed_capacities_are_not_judged(tmp_path):
    out = tmp_path / "q"
    assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400", "--kinds",
                 "hospital", "--region", "渠县", *FAST, "--out", str(out)]) == 0
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))
    beds = next(t for t in card["targets"] if t["id"] == "qu_county_hospital_beds_per_1000_2025")
    assert beds["status"] == "assumed — not judged" and beds["met"] is None
    assert beds["value"] > 0 and "300 beds" in beds["reason"]


def test_the_kinds_of_gb50180_with_level_threshold_and_clause(capsys):
    assert main(["metrics"]) == 0
    printed = capsys.readouterr().out
    for kind in ("health_station", "health_centre", "elderly_daycare", "nursing_home", "childcare",
                 "community_service", "culture_station", "fitness", "sports", "market"):
        assert kind in printed
    assert "GB 50180-2018" in printed and "assumption" in printed and "verify" in printed
