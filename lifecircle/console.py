"""What the command line prints: tables of metrics, parks, sites and scenarios, in the run's
language, with labels and units from the metric registry (:mod:`lifecircle.metrics`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lifecircle.metrics import format_value, label, unit_of

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True, width=100)


def run_summary(result: Any, out_dir: Path, wall_s: float) -> None:
    """The metrics of a run (facility counts left out) and where the outputs are."""
    lang = result.config.lang
    table = Table(title="lifecircle", show_lines=False)
    for column in ("指标" if lang == "zh" else "metric", "value", "detail"):
        table.add_column(column, justify="right" if column == "value" else "left",
                         overflow="fold")
    for metric_id, metric in result.records.items():
        if metric_id.startswith("facility_count."):
            continue
        threshold = metric.details.get("threshold_m")
        detail = f"{threshold:,.0f} m" if threshold is not None else ""
        if metric.status != "measured":
            detail = f"{detail} [{metric.status}]".strip()
        table.add_row(escape(label(metric_id, lang)),
                      format_value(metric.value, metric.unit, lang), escape(detail))
    out.print(table)
    pop = result.study.population
    out.print(f"population {pop.total:,.0f} ({pop.source}); missing layers: "
              f"{', '.join(result.missing_kinds) or 'none'}")
    out.print(f"wrote {Path(out_dir) / 'scorecard.json'}, coverage.gpkg and the map "
              f"{Path(out_dir) / 'map.html'} in {wall_s:.1f} s")


def circles_table(uncovered: pd.DataFrame, kind: str) -> None:
    """Uncovered study area and residential land per walking distance of a kind."""
    table = Table(title=f"service circles: {kind}")
    for column in ("walk", "layer", "uncovered ha", "uncovered share"):
        table.add_column(column, justify="right")
    for row in uncovered.itertuples():
        table.add_row(f"{row.threshold_m:,.0f} m", row.layer, f"{row.uncovered_m2 / 1e4:,.1f}",
                      f"{row.uncovered_share:.1%}")
    out.print(table)


def parks_table(parks: pd.DataFrame, metrics: dict[str, Any], lang: str) -> None:
    """One row per park, then the park figures."""
    table = Table(title="parks (service radius)")
    for column in ("name", "area m²", "tier", "radius m", "covers ha", "alone ha"):
        table.add_column(column, justify="left" if column == "name" else "right",
                         overflow="fold")
    for row in parks.itertuples():
        table.add_row(escape(str(row.name) or str(row.fid)), f"{row.area_m2:,.0f}", row.tier,
                      f"{row.radius_m:,.0f}", f"{row.covered_m2 / 1e4:,.1f}",
                      f"{row.unique_m2 / 1e4:,.1f}")
    out.print(table)
    for metric_id, metric in metrics.items():
        more = metric.details.get("to_target_ha")
        target = metric.details.get("target_share")
        out.print(f"{label(metric_id, lang)}: {format_value(metric.value, metric.unit, lang)}"
                  + (f" (to reach {target:.0%}: {more:,.1f} ha more)" if more else ""))


def site_summary(report: Any) -> None:
    """The chosen sites in order, and the figure before and after."""
    table = Table(title=f"new {report.kind} sites ({report.metric})")
    for column in ("order", "site", "source", "size m²", "figure after"):
        table.add_column(column, justify="right")
    for i, (row, figure) in enumerate(zip(report.sites.itertuples(), report.path,
                                          strict=True), start=1):
        table.add_row(str(i), row.candidate_id, row.source, f"{row.size_m2:,.0f}",
                      _figure(report.metric, figure))
    out.print(table)
    verdict = "" if report.target is None else (
        f"; target {report.target:.0%} {'reached' if report.reached else 'NOT reached'}")
    after = (report.path or [report.before])[-1]
    out.print(f"{report.metric}: {_figure(report.metric, report.before)} now -> "
              f"{_figure(report.metric, after)} with {len(report.path)} new "
              f"site(s){verdict}; solver: {report.solve.get('status')}, gap "
              f"{report.solve.get('gap')}")


def _figure(metric: str, value: float) -> str:
    return f"{value:,.0f} m" if metric.startswith("mean_walk_m.") else f"{value:.1%}"


def scenario_table(comparison: dict[str, Any], lang: str = "zh") -> None:
    """Baseline, scenario and change per metric, each in its registry unit."""
    table = Table(title=f"scenario: {comparison['scenario']}")
    for column in ("metric", "baseline", "scenario", "change"):
        table.add_column(column, justify="left" if column == "metric" else "right",
                         overflow="fold")
    for row in comparison["metrics"]:
        if row["change"] is None and row["baseline"] == row["scenario"] or \
                row["metric"].startswith("facility_count.") and row["change"] == 0:
            continue
        unit = unit_of(row["metric"]) or ""
        change = row["change"]
        shown = "—" if change is None else ("+" if change >= 0 else "") + \
            format_value(change, unit, lang)
        table.add_row(escape(label(row["metric"], lang)),
                      format_value(row["baseline"], unit, lang),
                      format_value(row["scenario"], unit, lang), shown)
    out.print(table)


def frame_table(frame: pd.DataFrame, title: str) -> None:
    """Any small table (batch summary, metric registry)."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[escape(_cell(v)) for v in row])
    out.print(table)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:,.1f}"
    return str(value)
