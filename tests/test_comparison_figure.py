"""comparison.png of a scenario: the changed metrics, baseline against scenario, per unit."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from lifecircle.errors import InputError
from lifecircle.maps.comparison import changed_metrics, comparison_figure, write_comparison_figure

COMPARISON = {
    "scenario": "三所小学", "description": "",
    "metrics": [
        {"metric": "walk_coverage.primary_school", "unit": "share", "baseline": 0.157,
         "scenario": 0.244, "change": 0.087},
        {"metric": "walk_coverage.hospital", "unit": "share", "baseline": 0.6,
         "scenario": 0.6, "change": 0.0},
        {"metric": "mean_walk_m.primary_school", "unit": "m", "baseline": 812.0,
         "scenario": 640.5, "change": -171.5},
        {"metric": "facility_count.primary_school", "unit": "count", "baseline": 40,
         "scenario": 43, "change": 3},
        {"metric": "life_circle_15min_complete", "unit": "share", "baseline": None,
         "scenario": None, "change": None},
    ],
    "targets": [],
}


def test_only_changed_metrics_by_unit():
    groups = changed_metrics(COMPARISON)
    assert {u: [r["metric"] for r in rows] for u, rows in groups.items()} == {
        "share": ["walk_coverage.primary_school"], "m": ["mean_walk_m.primary_school"]}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_has_a_panel_per_unit_with_both_values(lang):
    import matplotlib

    from lifecircle.maps.fonts import figure_rc

    lang, rc = figure_rc(lang)
    with matplotlib.rc_context(rc):
        fig = comparison_figure(COMPARISON, lang)
    axes = fig.get_axes()
    assert len(axes) == 2
    texts = [t.get_text() for ax in axes for t in ax.texts]
    # each value in its unit, baseline then scenario (format_value of the registry)
    assert texts == ["15.7%", "24.4%", "812.00 m", "640.50 m"]
    share_bars = [p.get_width() for p in axes[0].patches]
    assert share_bars == pytest.approx([0.157, 0.244])
    distance_bars = [p.get_width() for p in axes[1].patches]
    assert distance_bars == pytest.approx([812.0, 640.5])


def test_write_reads_comparison_json(tmp_path):
    (tmp_path / "comparison.json").write_text(json.dumps(COMPARISON, ensure_ascii=False),
                                              encoding="utf-8")
    png = write_comparison_figure(tmp_path, lang="en")
    with Image.open(png) as image:
        assert image.width == 1200 and image.height > 300
    with pytest.raises(InputError):
        write_comparison_figure(tmp_path / "missing")


def test_nothing_changed_says_so():
    fig = comparison_figure({"scenario": "x", "metrics": COMPARISON["metrics"][1:2]}, "en")
    assert fig.get_axes() == []
    assert any("No metric changed" in t.get_text() for t in fig.texts)
