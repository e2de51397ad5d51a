"""``figures/metrics_targets.png``: the metrics as bars against the plan targets of the region.

One panel per unit: shares (walking coverage of each kind, the park indicators and any other
share a target names) on a percentage axis, then small panels of their own for the quantities in
other units (park m² per person, beds per 1,000, school/care places per 1,000), so no quantity
is read off the share axis. Each target is ONE line drawn only across the bar(s) it applies to
(its metric, and the indicator the scorecard shows ``beside`` it), labelled with its number; the
legend has one "target" entry. Bars are coloured by the judgement of their own targets.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

import matplotlib.ticker
import numpy as np
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lifecircle.maps.labels import format_value, metric_label, text
from lifecircle.metrics import UNITS, unit_of

#: Quantities drawn in small panels of their own, in this order (not on the share axis).
PANEL_UNITS = ("m2_per_person", "beds_per_1000", "places_per_1000")
#: Bar colours by the judgement of the bar's own targets.
STATUS_COLOURS = {"met": "#1a9850", "not_met": "#d73027", "not_judged": "#9e9e9e",
                  "no_target": "#4d7fb3"}
TARGET_GID = "target"  # gid of every target line (tests and readers find them by it)
BAR_HEIGHT = 0.5  # of a 1.0 slot: room above each bar for a target's number
ROW_IN = 0.42  # inches of figure per bar (assumption: fits 9-point Chinese labels)
PANEL_IN = 0.75  # inches per panel for its axis, unit label and title
#: characters per line of a bar's label (assumption: English labels up to ~50 characters would
#: otherwise take half the figure's width; Chinese ones are at most ~22 characters)
LABEL_WIDTH = {"zh": 22, "en": 30}
_HALO = [patheffects.withStroke(linewidth=3, foreground="white")]


@dataclass
class _Mark:
    """One target line: its value and the bars (row positions) it crosses."""

    value: float
    rows: tuple[int, ...]
    ids: list[str] = field(default_factory=list)


@dataclass
class _Panel:
    unit: str
    ids: list[str]
    marks: list[_Mark] = field(default_factory=list)


def metrics_chart(scorecard: dict[str, Any], kinds: list[str], lang: str) -> Figure | None:
    """The metrics bar chart of a scorecard (None when there is nothing to draw).

    Parameters
    ----------
    scorecard : parsed ``scorecard.json`` (``metrics``, ``targets`` as a run writes them)
    kinds : measured kinds, in display order (their walking coverage comes first)
    lang : ``"zh"`` or ``"en"``

    Returns
    -------
    matplotlib.figure.Figure or None
        Axes in panel order (shares first); target lines carry ``gid="target"``.

    Examples
    --------
    >>> card = {"metrics": {"walk_coverage.park": {"value": 0.3, "unit": "share"},
    ...                     "park_green_per_capita_m2": {"value": 6.1, "unit": "m2_per_person"}},
    ...         "targets": [{"id": "t", "metric": "park_green_per_capita_m2", "target": 15.35,
    ...                      "unit": "m2_per_person", "status": "not met"}]}
    >>> fig = metrics_chart(card, ["park"], "en")
    >>> [line.get_xdata()[0] for ax in fig.axes for line in ax.get_lines()
    ...  if line.get_gid() == "target"]
    [15.35]
    """
    metrics = scorecard.get("metrics") or {}
    targets = [t for t in scorecard.get("targets") or []
               if t.get("metric") and _finite(t.get("target")) is not None]
    panels = _panels(metrics, targets, kinds)
    if not panels:
        return None
    rows = sum(len(p.ids) for p in panels)
    fig = Figure(figsize=(8.0, 0.6 + ROW_IN * rows + PANEL_IN * len(panels)),
                 layout="constrained")
    grid = fig.add_gridspec(len(panels), 1, height_ratios=[len(p.ids) + 1.2 for p in panels])
    used: set[str] = set()
    for index, panel in enumerate(panels):
        ax = fig.add_subplot(grid[index])
        used |= _draw_panel(ax, panel, metrics, targets, lang)
        if index == 0:
            ax.set_title(text("metrics_figure", lang), loc="left", fontsize=12)
    handles = [Patch(color=STATUS_COLOURS[s], label=text(s, lang))
               for s in STATUS_COLOURS if s in used]
    if any(p.marks for p in panels):
        handles.append(Line2D([], [], color="black", linewidth=2, label=text("target", lang)))
    if handles and (len(handles) > 1 or targets):
        fig.axes[0].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                           fontsize=8, frameon=False)
    return fig


def _panels(metrics: dict[str, Any], targets: list[dict[str, Any]], kinds: list[str]
            ) -> list[_Panel]:
    """Panels in order with their bars; a target's metric and its ``beside`` indicators are
    placed next to each other so one line crosses them."""
    def unit(metric_id: str) -> str | None:
        return (metrics.get(metric_id) or {}).get("unit") or unit_of(metric_id)

    by_unit: dict[str, list[str]] = {"share": [f"walk_coverage.{k}" for k in kinds
                                               if f"walk_coverage.{k}" in metrics]}
    for u in PANEL_UNITS:
        by_unit[u] = sorted(m for m in metrics if unit(m) == u
                            and _finite((metrics[m] or {}).get("value")) is not None)
    for t in targets:
        u = str(t.get("unit") or unit(str(t["metric"])))
        if u not in by_unit:
            continue  # a unit without a panel (counts, people...): not drawn
        for member in _members(t, metrics):
            if member not in by_unit[u]:
                by_unit[u].append(member)
    panels = [_Panel(u, ids) for u, ids in by_unit.items() if ids]
    for panel in panels:
        marks: dict[tuple[tuple[int, ...], float], _Mark] = {}
        for t in targets:
            members = [m for m in _members(t, metrics) if m in panel.ids]
            if not members or str(t.get("unit") or unit(str(t["metric"]))) != panel.unit:
                continue
            key = (tuple(sorted(panel.ids.index(m) for m in members)), float(t["target"]))
            marks.setdefault(key, _Mark(key[1], key[0])).ids.append(str(t.get("id", "")))
        panel.marks = list(marks.values())
    return panels


def _members(target: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """The bars a target applies to: its metric, then the indicators shown beside it."""
    beside = [m for m in (target.get("beside") or {}) if m in metrics]
    return [str(target["metric"]), *[m for m in beside if m != target["metric"]]]


def _draw_panel(ax: Any, panel: _Panel, metrics: dict[str, Any],
                targets: list[dict[str, Any]], lang: str) -> set[str]:
    """Bars, values and target lines of one panel; returns the bar statuses used."""
    share = panel.unit == "share"
    n = len(panel.ids)
    y = np.arange(n)[::-1].astype(float)  # first id on top
    values = [_finite((metrics.get(i) or {}).get("value")) for i in panel.ids]
    statuses = [_status(i, targets) for i in panel.ids]
    ax.barh(y, [v or 0.0 for v in values], height=BAR_HEIGHT,
            color=[STATUS_COLOURS[s] for s in statuses])
    top = max([v or 0.0 for v in values] + [m.value for m in panel.marks] + [0.0])
    right = 1.1 if share else (top * 1.3 or 1.0)
    pad = right * 0.01
    for yi, metric_id, value in zip(y, panel.ids, values, strict=True):
        shown = text("not_measured", lang) if value is None else \
            format_value(value, panel.unit, lang)
        if (metrics.get(metric_id) or {}).get("status") == "assumed":
            shown += text("assumed_mark", lang)
        # haloed above the target lines: a value next to a line stays readable
        ax.text((value or 0.0) + pad, yi, shown, va="center", fontsize=8, zorder=4,
                path_effects=_HALO)
    for group in _by_rows(panel.marks).values():
        for order, mark in enumerate(sorted(group, key=lambda m: m.value)):
            _target_line(ax, mark, y, order, len(group), panel.unit, lang)
    ax.set_yticks(y, [textwrap.fill(metric_label(i, lang), LABEL_WIDTH[lang])
                      for i in panel.ids], fontsize=9)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0, right)
    if share:
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(xmax=1.0))
        ax.set_xlabel(text("share_axis", lang), fontsize=9)
    else:
        found = UNITS.get(panel.unit)
        ax.set_xlabel(found.zh if found and lang == "zh" else found.en if found else
                      panel.unit, fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return set(statuses)


def _by_rows(marks: list[_Mark]) -> dict[tuple[int, ...], list[_Mark]]:
    out: dict[tuple[int, ...], list[_Mark]] = {}
    for mark in marks:
        out.setdefault(mark.rows, []).append(mark)
    return out


def _target_line(ax: Any, mark: _Mark, y: np.ndarray, order: int, count: int, unit: str,
                 lang: str) -> None:
    """One Line2D per target across its bars (NaN-separated where they are not adjacent),
    its number above the topmost bar; several targets on the same bars fan their labels out
    (smaller value to the left) so close numbers (16.33 and 15.35 m²) stay readable."""
    xs: list[float] = []
    ys: list[float] = []
    positions = sorted(float(y[r]) for r in mark.rows)
    runs: list[list[float]] = []
    for pos in positions:
        if runs and pos - runs[-1][-1] <= 1.0:
            runs[-1].append(pos)
        else:
            runs.append([pos])
    half = BAR_HEIGHT / 2 + 0.08
    for run in runs:
        xs += [mark.value, mark.value, np.nan]
        ys += [run[0] - half, run[-1] + half, np.nan]
    ax.add_line(Line2D(xs[:-1], ys[:-1], color="black", linewidth=2, gid=TARGET_GID,
                       zorder=3))
    align = "center" if count == 1 else ("right" if order < count / 2 - 0.01 else
                                         "left" if order > (count - 1) / 2 else "center")
    label = f"{text('target', lang)} {format_value(mark.value, unit, lang)}"
    ax.text(mark.value, positions[-1] + half, label, ha=align, va="bottom", fontsize=7,
            gid=TARGET_GID, zorder=4, path_effects=_HALO)


def _status(metric_id: str, targets: list[dict[str, Any]]) -> str:
    """A bar's colour key from its own targets (not those it is only shown beside)."""
    own = [t for t in targets if t["metric"] == metric_id]
    if not own:
        beside = any(metric_id in (t.get("beside") or {}) for t in targets)
        return "not_judged" if beside else "no_target"
    met = [t.get("met") for t in own]
    if any(m is False for m in met):
        return "not_met"
    if all(m is True for m in met):
        return "met"
    return "not_judged"


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
