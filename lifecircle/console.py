"""What the command line prints: tables of metrics, parks, sites and scenarios, in the run's
language, with labels and units from the metric registry (:mod:`lifecircle.metrics`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lifecircle.metrics import format_value, label, unit_of

if TYPE_CHECKING:  # annotations only: a run's first message need not wait for pandas
    import pandas as pd

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True, width=100)


_WORDS = {
    "metric": {"zh": "指标", "en": "metric"}, "value": {"zh": "数值", "en": "value"},
    "detail": {"zh": "说明", "en": "detail"}, "name": {"zh": "名称", "en": "name"},
    "area": {"zh": "面积 m²", "en": "area m²"}, "tier": {"zh": "等级与半径", "en": "tier"},
    "covers": {"zh": "覆盖居住用地 ha", "en": "covers ha"},
    "alone": {"zh": "独有覆盖 ha", "en": "alone ha"},
    "unnamed": {"zh": "未命名公园（OSM {ref}）", "en": "unnamed park (OSM {ref})"},
    "not_counted": {"zh": "不计入", "en": "not counted"},
    "measured": {"zh": "", "en": ""}, "assumed": {"zh": "按假设参数，不作判定", "en": "assumed"},
    "not measured": {"zh": "未测算", "en": "not measured"},
}


def word(key: str, lang: str, **fields: object) -> str:
    """A console word in ``lang``."""
    return _WORDS[key][lang].format(**fields)


def run_summary(result: Any, out_dir: Path, wall_s: float) -> None:
    """The metrics of a run (facility counts left out) and where the outputs are."""
    lang = result.config.lang
    table = Table(title=result.scorecard()["study_area"].get("name") or "lifecircle",
                  show_lines=False)
    for column in ("metric", "value", "detail"):
        table.add_column(word(column, lang), justify="right" if column == "value" else "left",
                         overflow="fold")
    for metric_id, metric in result.records.items():
        if metric_id.startswith("facility_count."):
            continue
        threshold = metric.details.get("threshold_m")
        detail = f"{threshold:,.0f} m" if threshold is not None else ""
        if metric.status != "measured":
            detail = f"{detail} [{word(metric.status, lang)}]".strip()
        table.add_row(escape(label(metric_id, lang)),
                      format_value(metric.value, metric.unit, lang), escape(detail))
    out.print(table)
    pop = result.study.population
    out.print(f"population {pop.total:,.0f} ({pop.source}); missing layers: "
              f"{', '.join(result.missing_kinds) or 'none'}")
    for target in result.scored_targets():
        if target["metric"] is not None:
            out.print(f"target {target['id']}: {target['status']}"
                      + (f" ({target['reason']})" if target.get("reason") else ""),
                      markup=False)
    out.print(f"wrote {Path(out_dir) / 'scorecard.json'}, coverage.gpkg and the map "
              f"{Path(out_dir) / 'map.html'} in {wall_s:.1f} s")


def circles_table(uncovered: pd.DataFrame, kind: str,
                  minutes: dict[float, float] | None = None) -> None:
    """Uncovered study area and residential land per walking distance (and minutes) of a
    kind."""
    table = Table(title=f"service circles: {kind}")
    for column in ("walk", "layer", "uncovered ha", "uncovered share"):
        table.add_column(column, justify="right")
    for row in uncovered.itertuples():
        walk = f"{row.threshold_m:,.0f} m"
        if minutes and row.threshold_m in minutes:
            walk = f"{minutes[row.threshold_m]:g} min · {walk}"
        table.add_row(walk, row.layer, f"{row.uncovered_m2 / 1e4:,.1f}",
                      f"{row.uncovered_share:.1%}")
    out.print(table)


def parks_table(parks: pd.DataFrame, metrics: dict[str, Any], lang: str,
                tiers: dict[str, str]) -> None:
    """One row per park (a park mapped as several polygons is one row, its parts summed), its
    tier as a rule ("≥ 5,000 m² → 500 m"), then the park figures."""
    table = Table(title=label("park_service_radius_coverage", lang))
    for column in ("name", "area", "tier", "covers", "alone"):
        table.add_column(word(column, lang), justify="left" if column == "name" else "right",
                         overflow="fold")
    named = parks.assign(shown=[n if isinstance(n, str) and n else
                                word("unnamed", lang, ref=str(f).replace("/", " "))
                                for n, f in zip(parks["name"], parks["fid"], strict=True)])
    grouped = named.groupby(["shown", "tier"], sort=False).agg(
        area_m2=("area_m2", "sum"), covered_m2=("covered_m2", "sum"),
        unique_m2=("unique_m2", "sum")).reset_index()
    for row in grouped.itertuples():
        table.add_row(escape(row.shown), f"{row.area_m2:,.0f}",
                      tiers.get(row.tier, word("not_counted", lang)),
                      f"{row.covered_m2 / 1e4:,.1f}", f"{row.unique_m2 / 1e4:,.1f}")
    out.print(table)
    for metric_id, metric in metrics.items():
        out.print(f"{label(metric_id, lang)}: {format_value(metric.value, metric.unit, lang)}"
                  + (f" [{word(metric.status, lang)}]" if metric.status != "measured" else ""))


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
