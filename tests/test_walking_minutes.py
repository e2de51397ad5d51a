"""Thresholds in minutes (issue 19): the conversion, the flags, and the scorecard's account."""

from __future__ import annotations

import json

import pytest

from lifecircle.cli import main
from lifecircle.config import RunConfig, minutes_to_metres
from lifecircle.errors import InputError
from tests.osm_fixture import write_small_osm


def test_default_conversion_keeps_the_standard_circles():
    # GB 50180-2018 表 3.0.4 fixes the circles by distance: 300 / 500 / 1,000 m
    assert [minutes_to_metres(m) for m in (5, 10, 15)] == [300.0, 500.0, 1000.0]
    # other minutes at 1,000 m / 15 min (the stated assumption), to the metre
    assert minutes_to_metres(20) == round(20 * 1000 / 15)
    # a user's speed converts every minute value, the circles' too
    assert minutes_to_metres(5, 72) == 360.0 and minutes_to_metres(15, 72) == 1080.0


def test_threshold_in_minutes():
    config = RunConfig(thresholds_min={"primary_school": 10, "middle_school": 20})
    assert config.threshold("primary_school") == 500.0
    assert config.threshold("middle_school") == 1333.0
    fast = config.model_copy(update={"walk_speed_m_per_min": 80.0})
    assert fast.threshold("primary_school") == 800.0
    section = fast.minutes_section()
    assert section["speed_m_per_min"] == 80.0
    assert section["thresholds"]["primary_school"] == {"minutes": 10, "metres": 800.0}
    assert "80 m/min" in section["conversion"]
    with pytest.raises(ValueError, match="metres or in minutes, not both"):
        RunConfig(thresholds_m={"park": 400}, thresholds_min={"park": 5})
    with pytest.raises(ValueError, match="between 0 and 300 minutes"):
        RunConfig(thresholds_min={"park": 0})


def test_run_with_minutes_equals_run_with_the_metres(tmp_path, capsys):
    osm = write_small_osm(tmp_path / "small.osm")
    common = ["run", "--osm", str(osm), "--residential-density", "100", "--kinds",
              "primary_school", "--no-figures", "--no-report"]
    assert main([*common, "--threshold-minutes", "primary_school=10", "--walk-speed", "45",
                 "--out", str(tmp_path / "min")]) == 0
    assert main([*common, "--threshold", "primary_school=450", "--out",
                 str(tmp_path / "m")]) == 0
    cards = [json.loads((tmp_path / d / "scorecard.json").read_text(encoding="utf-8"))
             for d in ("min", "m")]
    metric = "walk_coverage.primary_school"
    assert cards[0]["metrics"][metric]["threshold_m"] == 450.0
    assert cards[0]["metrics"][metric]["value"] == cards[1]["metrics"][metric]["value"]
    minutes = cards[0]["walking"]["minutes"]
    assert minutes["thresholds"] == {"primary_school": {"minutes": 10.0, "metres": 450.0}}
    assert minutes["speed_m_per_min"] == 45.0
    assert cards[1]["walking"]["minutes"]["speed_m_per_min"] is None
    assert "300/500/1,000 m" in cards[1]["walking"]["minutes"]["conversion"]
    # bad input: one line naming the flag, exit 2
    code = main([*common, "--threshold-minutes", "primary_school=ten", "--out",
                 str(tmp_path / "bad")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "--threshold-minutes primary_school=ten" in err[-1] and "KIND=MINUTES" in err[-1]
    assert not (tmp_path / "bad").exists()


def test_both_units_for_one_kind_is_refused(tmp_path):
    from lifecircle.cli_options import config_from_args
    from lifecircle.cli_parser import build_parser

    args = build_parser().parse_args(["run", "--threshold", "park=400", "--threshold-minutes",
                                      "park=5", "--out", str(tmp_path / "o")])
    with pytest.raises(InputError, match="not both"):
        config_from_args(args)


def test_circles_command_in_minutes_at_a_speed(tmp_path):
    import geopandas as gpd

    osm = write_small_osm(tmp_path / "small.osm")
    out = tmp_path / "circles"
    assert main(["circles", "--kind", "health_centre", "--minutes", "5", "10", "--walk-speed",
                 "40", "--osm", str(osm), "--residential-density", "100", "--out",
                 str(out)]) == 0
    drawn = gpd.read_file(out / "circles.gpkg", layer="service_circles")
    assert sorted(drawn["threshold_m"].unique()) == [200.0, 400.0]
