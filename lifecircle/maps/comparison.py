"""``comparison.png`` of a scenario (``lifecircle scenario``): the metrics that changed, baseline
against scenario, one small panel per unit (shares, m² per person, beds per 1,000, metres...), so
no bar is read on another unit's axis. Draws ``comparison.json`` as written; computes nothing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import matplotlib.ticker
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lifecircle.errors import InputError
from lifecircle.maps.fonts import figure_rc
from lifecircle.metrics import UNITS, format_value, label
from lifecircle.output import atomic_file

DPI = 150
BASELINE_COLOUR = "#9e9e9e"
SCENARIO_COLOUR = "#2166ac"
#: A change below this (in the metric's unit) is rounding noise between two runs, not a change
#: (assumption: well below every unit's shown decimals).
TOLERANCE = 1e-9

_TEXT = {
    "title": {"zh": "情景对比：{name}", "en": "Scenario comparison: {name}"},
    "baseline": {"zh": "现状", "en": "Baseline"},
    "scenario": {"zh": "情景", "en": "Scenario"},
    "nothing": {"zh": "情景未改变任何指标", "en": "No metric changed in this scenario"},
    "share": {"zh": "占比", "en": "Share"},
}


def changed_metrics(comparison: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The metric rows whose value changed, grouped by unit in first-seen order (facility
    counts left out: the scenario's own edits, not an outcome).

    Examples
    --------
    >>> rows = [{"metric": "a", "unit": "share", "baseline": 0.5, "scenario": 0.6, "change": 0.1},
    ...         {"metric": "b", "unit": "share", "baseline": 0.5, "scenario": 0.5, "change": 0.0},
    ...         {"metric": "facility_count.park", "unit": "count", "baseline": 1,
    ...          "scenario": 2, "change": 1}]
    >>> {u: [r["metric"] for r in rs] for u, rs in changed_metrics({"metrics": rows}).items()}
    {'share': ['a']}
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in comparison.get("metrics") or []:
        change = row.get("change")
        if str(row["metric"]).startswith("facility_count.") or change is None \
                or not math.isfinite(float(change)) or abs(float(change)) <= TOLERANCE:
            continue
        groups.setdefault(str(row.get("unit") or ""), []).append(row)
    return groups


def write_comparison_figure(out_dir: str | Path, lang: str = "zh") -> Path:
    """Write ``out_dir/comparison.png`` from ``out_dir/comparison.json`` (atomically).

    Parameters
    ----------
    out_dir : a folder written by ``lifecircle scenario`` (or its staging folder)
    lang : "zh" or "en" (English when no CJK font is installed, with a warning)

    Returns
    -------
    Path
        ``out_dir/comparison.png``.

    Raises
    ------
    InputError
        No ``comparison.json`` in ``out_dir``.
    """
    source = Path(out_dir) / "comparison.json"
    if not source.exists():
        raise InputError(source, "not found: not a folder written by lifecircle scenario")
    comparison = json.loads(source.read_text(encoding="utf-8"))
    lang, rc = figure_rc(lang)
    with matplotlib.rc_context(rc):
        fig = comparison_figure(comparison, lang)
        FigureCanvasAgg(fig)
        return atomic_file(Path(out_dir) / "comparison.png",
                           lambda tmp: fig.savefig(tmp, format="png", dpi=DPI))


def comparison_figure(comparison: dict[str, Any], lang: str) -> Figure:
    """The figure of :func:`write_comparison_figure`: per unit, paired horizontal bars."""
    groups = changed_metrics(comparison)
    rows = sum(len(g) for g in groups.values())
    fig = Figure(figsize=(8.0, 1.4 + 0.55 * rows + 0.6 * len(groups)), layout="constrained")
    fig.suptitle(_TEXT["title"][lang].format(name=comparison.get("scenario", "")),
                 x=0.02, ha="left", fontsize=12)
    if not groups:
        fig.text(0.5, 0.5, _TEXT["nothing"][lang], ha="center", va="center", fontsize=11)
        return fig
    axes = fig.subplots(len(groups), 1, squeeze=False,
                        height_ratios=[len(g) for g in groups.values()])[:, 0]
    for ax, (unit, group) in zip(axes, groups.items(), strict=True):
        _panel(ax, unit, group, lang)
    axes[0].legend(handles=[Patch(color=BASELINE_COLOUR, label=_TEXT["baseline"][lang]),
                            Patch(color=SCENARIO_COLOUR, label=_TEXT["scenario"][lang])],
                   loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False,
                   fontsize=8)
    return fig


def _panel(ax: Any, unit: str, group: list[dict[str, Any]], lang: str) -> None:
    y = np.arange(len(group))[::-1].astype(float)
    before = np.array([_value(r["baseline"]) for r in group])
    after = np.array([_value(r["scenario"]) for r in group])
    ax.barh(y + 0.2, before, height=0.38, color=BASELINE_COLOUR)
    ax.barh(y - 0.2, after, height=0.38, color=SCENARIO_COLOUR)
    top = float(np.nanmax(np.r_[before, after, 0.0]))
    for yi, row, b, a in zip(y, group, before, after, strict=True):
        ax.text(b + top * 0.01, yi + 0.2, format_value(row["baseline"], unit, lang),
                va="center", fontsize=7)
        ax.text(a + top * 0.01, yi - 0.2, format_value(row["scenario"], unit, lang),
                va="center", fontsize=7)
    ax.set_yticks(y, [label(str(r["metric"]), lang) for r in group], fontsize=9)
    ax.set_xlim(0, top * 1.18 if top > 0 else 1.0)
    if unit == "share":
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(xmax=1.0))
        ax.set_xlabel(_TEXT["share"][lang], fontsize=8)
    else:
        found = UNITS.get(unit)
        ax.set_xlabel((found.zh if lang == "zh" else found.en) if found else unit, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def _value(value: Any) -> float:
    return 0.0 if value is None else float(value)
