"""``lifecircle demo --out d`` as a new user meets it (issue 17's first must-show): central
Chengdu, 200,000+ modelled residents, Chinese labels, a map whose street layer holds every way of
the basemap, report.pdf whose text holds the park figure and Sichuan's 86 % target, and a
console without a raw metric key. One demo run for the module."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest

from lifecircle.maps.labels import format_value
from lifecircle.maps.screenshot import CHROMIUM


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    from lifecircle.cli import main

    out = tmp_path_factory.mktemp("demo") / "d"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main(["demo", "--out", str(out)]) == 0
    return out, stdout.getvalue() + stderr.getvalue()


def scorecard(out: Path) -> dict:
    return json.loads((out / "scorecard.json").read_text(encoding="utf-8"))


def group_features(html: str, key: str) -> int:
    """Features of the GeoJSON layers added to the basemap group ``key`` of map.html."""
    group = re.search(rf'"{key}": (feature_group_\w+)', html)[1]
    decoder = json.JSONDecoder()
    total = 0
    for layer in re.findall(rf"(geo_json_\w+)\.addTo\({group}\)", html):
        call = re.search(rf"{layer}_add\((?=\{{)", html)
        data, _ = decoder.raw_decode(html, call.end())
        total += len(data["features"])
    return total


def test_chengdu_with_200000_modelled_residents(demo):
    out, _console = demo
    card = scorecard(out)
    assert card["population"]["total"] > 200_000
    assert card["population"]["source"].startswith("modelled:")
    assert "成都" in card["study_area"]["name"]
    assert "四川省" in card["regions"]


def test_map_in_chinese_with_every_street(demo):
    out, _console = demo
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "<title>lifecircle · 步行可达性</title>" in html
    assert "规划目标" in html and "小学" in html and "街道" in html
    streets = gpd.read_file(out / "coverage.gpkg", layer="base_streets")
    assert len(streets) > 1000
    assert group_features(html, "streets") == len(streets)
    assert "L.tileLayer(" not in html  # offline by default
    # the targets' tooltips name kinds in words, not keys ("no data for 室外综合健身场地")
    from lifecircle.seeds import kind_names

    keys = re.compile(r"\b(" + "|".join(kind_names()) + r")\b")
    titles = re.findall(r'<tr class="lc-target[^>]* title="([^"]*)"', html)
    assert titles and [t for t in titles if keys.search(t)] == []
    # and the reasons in Chinese ("未测算：15分钟生活圈…", "假设：…"), not the scorecard's English
    reasons = " ".join(titles)
    assert "未测算：15分钟生活圈" in reasons and "假设：" in reasons
    assert "not measured" not in reasons and "assumption" not in reasons


def test_report_pdf_holds_the_park_figure_and_86(demo):
    out, _console = demo
    pdf = out / "report.pdf"
    if not pdf.exists():  # the run writes report.html and warns without playwright/Chromium
        assert (out / "report.html").exists()
        pytest.skip("report.pdf needs playwright and /usr/bin/chromium")
    if shutil.which("pdftotext") is None:
        pytest.skip("needs pdftotext")
    assert CHROMIUM.exists()
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    card = scorecard(out)
    for metric in ("park_service_radius_coverage", "park_activity_space_coverage"):
        assert format_value(card["metrics"][metric]["value"], "share", "zh") in text
    assert "≥ 86.0%" in text and "成都" in text


def test_console_has_no_raw_metric_key(demo):
    out, console = demo
    assert "成都" in console and "小学步行覆盖率" in console
    metric_ids = set(scorecard(out)["metrics"])
    assert sorted(m for m in metric_ids if m in console) == []
    assert not re.search(r"\b(walk_coverage|catchment|facility_count|places_per_1000|"
                         r"beds_per_1000)\.", console)
