"""The console of a Chengdu run speaks in labels, not keys, in Chinese and in English."""

from __future__ import annotations

import pytest

from lifecircle.data import sample_path

RAW_KEYS = ("walk_coverage.", "catchment.", "park_service_radius", "_per_1000")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_run_console_has_no_metric_key(lang, tmp_path, capsys):
    from lifecircle.cli import main

    code = main(["run", "--osm", str(sample_path()), "--residential-density", "400",
                 "--region", "四川", "--no-figures", "--lang", lang, "--out", str(tmp_path / "o")])
    assert code == 0
    stdout = capsys.readouterr().out
    assert [key for key in RAW_KEYS if key in stdout] == []
    assert "park_5000" not in stdout  # tier codes as rules
    # the registry's labels are there instead
    if lang == "zh":
        assert "小学" in stdout and "公园" in stdout and "目标 ·" in stdout
        # the reasons in Chinese too (the 15-minute set, the park tiers' assumptions)
        assert "未测算：15分钟生活圈" in stdout and "假设：" in stdout
        assert "not measured:" not in stdout and "assumption:" not in stdout
    else:
        assert "Primary school" in stdout and "Park service-radius coverage" in stdout


def test_target_line_in_words():
    from lifecircle.console import target_line

    target = {"id": "sichuan_park_service_radius_coverage_2028",
              "metric": "park_service_radius_coverage", "year": 2028, "status": "not met",
              "gap": -0.24, "unit": "share", "reason": None}
    line = target_line(target, "en")
    assert line.startswith("target · Park service-radius coverage 2028: not met")
    assert "park_service_radius" not in line and "24.0" in line
    assert target_line(target | {"status": "assumed — not judged",
                                 "reason": "park_5000: a floor"}, "zh").endswith(
        "按假设参数，不作判定 (≥ 5,000 m² → 500 m: a floor)")


def test_every_reason_a_run_writes_reads_in_chinese():
    """Each English reason sentence the code and the seeds write has its Chinese reading: no
    English word is left of them but the standards' codes."""
    import re

    import numpy as np

    from lifecircle.console import plain_words
    from lifecircle.coverage import circles, parks
    from lifecircle.seeds import load_standards

    with pytest.warns(UserWarning, match="no facility data for primary_school"):
        no_kind = circles.life_circle_completeness({}, {}, np.ones(3), ["primary_school"])
    nobody = circles.life_circle_completeness({"primary_school": np.zeros(3)},
                                              {"primary_school": 500.0}, np.zeros(3),
                                              ["primary_school"])
    reasons = [no_kind.reason, nobody.reason, parks.UNDEFINED_NO_RESIDENTIAL,
               parks.tier_assumption(parks.park_tiers("activity-space-2021")),
               "not measured: the 15-minute set needs every kind of GB 50180-2018 附录B; no "
               "data for fitness, health_centre"]
    presets = load_standards()["park_tiers"]["presets"].values()
    assumed = [t for preset in presets for t in preset["tiers"] if t.get("assumption")]
    assert assumed and all(t.get("assumption_reason_zh") for t in assumed)
    for reason in reasons:
        assert reason
        chinese = plain_words(reason, "zh")
        left = re.findall(r"[A-Za-z]{3,}", chinese.replace("GB/T", "").replace("GB", ""))
        assert left == [], (reason, chinese)


def test_unnamed_parks_are_named_by_their_source(capsys):
    """An unnamed OSM park reads as its OSM object, one from a user's file as its row id."""
    import pandas as pd

    from lifecircle.console import parks_table

    parks = pd.DataFrame({"name": [None, ""], "fid": ["way/539235849", "parks:3"],
                          "tier": ["park_5000", "park_5000"], "area_m2": [9e4, 6e3],
                          "covered_m2": [1e4, 2e3], "unique_m2": [5e3, 1e3]})
    parks_table(parks, {}, "zh", {"park_5000": "≥ 5,000 m² → 500 m"})
    shown = capsys.readouterr().out
    assert "未命名公园（OSM way 539235849）" in shown and "未命名公园（parks:3）" in shown
