"""The metrics bar chart (figures/metrics_targets.png), read through its matplotlib artists: one
line per target, only across the bars it applies to, at the target's value, each labelled with
its number; one "target" legend entry; m² per person, beds and places per 1,000 in panels of
their own, never on the share axis. The targets are the catalogue's for the region (渠县 has
two park m²/person targets and a beds target; 四川 the 86 % park indicator)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifecircle.maps.chart import PANEL_UNITS, TARGET_GID, metrics_chart
from lifecircle.maps.labels import format_value, metric_label, text
from lifecircle.seeds.targets import load_targets, select_targets

#: Stand-in metric values (not measurements): every unit the chart draws.
METRICS = {
    "walk_coverage.primary_school": (0.146, "share", "measured"),
    "walk_coverage.park": (0.195, "share", "measured"),
    "park_activity_space_coverage": (0.42, "share", "assumed"),
    "park_service_radius_coverage": (0.409, "share", "measured"),
    "life_circle_15min_complete": (None, "share", "not measured"),
    "park_green_per_capita_m2": (6.13, "m2_per_person", "measured"),
    "beds_per_1000.hospital": (36.05, "beds_per_1000", "assumed"),
    "places_per_1000.kindergarten": (9.98, "places_per_1000", "assumed"),
    "facility_count.park": (30.0, "count", "measured"),
}


def scorecard(region: str) -> dict:
    """A scorecard holding the region's catalogue targets whose metric is in METRICS, judged
    here by their comparator (>=) against the stand-in values."""
    metrics = {k: {"value": v, "unit": u, "status": s} for k, (v, u, s) in METRICS.items()}
    targets = []
    for t in select_targets(load_targets(), region=region):
        if t.metric not in metrics:
            continue
        value = metrics[t.metric]["value"]
        met = None if value is None else value >= t.value
        entry = {"id": t.id, "metric": t.metric, "target": t.value, "unit": t.unit,
                 "value": value, "met": met, "status": "not measured" if met is None else
                 ("met" if met else "not met")}
        if t.metric == "park_activity_space_coverage":  # as the run writes it
            entry["beside"] = {"park_service_radius_coverage": 0.409}
        targets.append(entry)
    return {"metrics": metrics, "targets": targets}


def target_lines(fig):
    return [(ax, line) for ax in fig.axes for line in ax.get_lines()
            if line.get_gid() == TARGET_GID]


def tick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def bar_rows(ax) -> dict[float, str]:
    """y of each bar's centre -> the metric label on that row."""
    ticks = ax.get_yticks()
    return dict(zip(np.round(ticks, 6), tick_labels(ax), strict=True))


@pytest.fixture(scope="module")
def qu():
    card = scorecard("渠县")
    return card, metrics_chart(card, ["primary_school", "park"], "zh")


def test_the_region_has_targets_in_three_units():
    units = {t["unit"] for t in scorecard("渠县")["targets"]}
    assert {"share", "m2_per_person", "beds_per_1000"} <= units


def test_one_line_per_target_at_its_value(qu):
    card, fig = qu
    lines = target_lines(fig)
    expected = sorted(t["target"] for t in card["targets"])
    assert len(lines) == len(card["targets"]) == len(expected)
    got = []
    for _ax, line in lines:
        xs = np.asarray(line.get_xdata(), dtype=float)
        xs = xs[~np.isnan(xs)]
        assert np.ptp(xs) == 0  # vertical
        got.append(float(xs[0]))
    assert sorted(got) == pytest.approx(expected)


def test_each_line_only_crosses_its_bars(qu):
    card, fig = qu
    by_value = {t["target"]: t for t in card["targets"]}
    for ax, line in target_lines(fig):
        target = by_value[float(np.nanmax(line.get_xdata()))]
        members = [target["metric"], *(target.get("beside") or {})]
        wanted = {metric_label(m, "zh") for m in members}
        ys = np.asarray(line.get_ydata(), dtype=float)
        rows = bar_rows(ax)
        crossed = {label for y, label in rows.items() if np.nanmin(ys) <= y <= np.nanmax(ys)}
        assert crossed == wanted, (target["id"], crossed)


def test_every_target_shows_its_number(qu):
    card, fig = qu
    labels = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_gid() == TARGET_GID]
    for target in card["targets"]:
        number = format_value(target["target"], target["unit"], "zh")
        assert f"{text('target', 'zh')} {number}" in labels
    assert len(labels) == len(card["targets"])


def test_one_target_entry_in_the_legend(qu):
    _card, fig = qu
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 1
    entries = [t.get_text() for t in legends[0].get_texts()]
    assert entries.count(text("target", "zh")) == 1
    assert text("not_met", "zh") in entries  # 6.13 m² against 15.35 and 16.33


def test_other_units_have_their_own_panels(qu):
    _card, fig = qu
    share_ax, *small = fig.axes
    assert share_ax.get_xlim() == pytest.approx((0, 1.1))
    share_rows = tick_labels(share_ax)
    assert metric_label("park_green_per_capita_m2", "zh") not in share_rows
    assert metric_label("beds_per_1000.hospital", "zh") not in share_rows
    assert len(small) == len(PANEL_UNITS)
    assert [tick_labels(ax) for ax in small] == [
        [metric_label("park_green_per_capita_m2", "zh")],
        [metric_label("beds_per_1000.hospital", "zh")],
        [metric_label("places_per_1000.kindergarten", "zh")]]
    # each small axis reaches past its values and targets (16.33 m², 36.05 beds)
    assert small[0].get_xlim()[1] > 16.33 and small[1].get_xlim()[1] > 36.05
    assert metric_label("facility_count.park", "zh") not in \
        [label for ax in fig.axes for label in tick_labels(ax)]  # counts are not charted


def test_bar_values_and_statuses(qu):
    _card, fig = qu
    share_ax = fig.axes[0]
    values = {t.get_text() for t in share_ax.texts if t.get_gid() != TARGET_GID}
    assert "42.0%（假设）" in values and text("not_measured", "zh") in values
    widths = sorted(round(p.get_width(), 6) for p in share_ax.patches)
    assert widths == sorted([0.146, 0.195, 0.42, 0.409, 0.0])


def test_sichuan_park_target_spans_both_park_indicators():
    card = scorecard("四川")
    fig = metrics_chart(card, ["primary_school", "park"], "en")
    (park,) = [t for t in card["targets"] if t["metric"] == "park_activity_space_coverage"]
    lines = [line for _ax, line in target_lines(fig)
             if math.isclose(np.nanmax(line.get_xdata()), park["target"])]
    assert len(lines) == 1  # one line across the two adjacent bars, not two
    assert not np.isnan(np.asarray(lines[0].get_ydata(), dtype=float)).any()


def test_nothing_to_chart():
    assert metrics_chart({"metrics": {}, "targets": []}, [], "en") is None
