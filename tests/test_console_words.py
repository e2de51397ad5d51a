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
