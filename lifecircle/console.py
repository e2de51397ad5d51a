"""What the command line prints: tables of metrics, parks, sites and scenarios, in the run's
language, with labels and units from the metric registry (:mod:`lifecircle.metrics`)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from lifecircle.metrics import format_gap, format_value, kind_label, label, unit_of

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
    "unnamed": {"zh": "未命名公园（{ref}）", "en": "unnamed park ({ref})"},
    "not_counted": {"zh": "不计入", "en": "not counted"},
    "measured": {"zh": "", "en": ""}, "assumed": {"zh": "按假设参数，不作判定", "en": "assumed"},
    "not measured": {"zh": "未测算", "en": "not measured"},
    "population": {"zh": "人口 {total}（{source}）；缺少数据：{missing}",
                   "en": "population {total} ({source}); no data: {missing}"},
    "none": {"zh": "无", "en": "none"},
    "target": {"zh": "目标", "en": "target"},
    "met": {"zh": "达标", "en": "met"}, "not met": {"zh": "未达标", "en": "not met"},
    "assumed — not judged": {"zh": "按假设参数，不作判定", "en": "assumed — not judged"},
    "catalogued, not measured": {"zh": "已收录，无法测算", "en": "catalogued, not measured"},
    "new_sites": {"zh": "新增{kind}选址（{metric}）", "en": "new {kind} sites ({metric})"},
    "order": {"zh": "顺序", "en": "order"}, "site": {"zh": "候选点", "en": "site"},
    "source": {"zh": "来源", "en": "source"}, "size": {"zh": "面积 m²", "en": "size m²"},
    "after": {"zh": "建成后", "en": "figure after"},
    "site_line": {"zh": "{metric}：现状 {before} → 新增 {n} 处后 {after}{verdict}；"
                        "求解器：{status}，间隙 {gap}",
                  "en": "{metric}: {before} now -> {after} with {n} new site(s){verdict}; "
                        "solver: {status}, gap {gap}"},
    "reached": {"zh": "；目标 {share} 已达到", "en": "; target {share} reached"},
    "not_reached": {"zh": "；目标 {share} 未达到", "en": "; target {share} NOT reached"},
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
    sep = "、" if lang == "zh" else ", "
    missing = sep.join(kind_label(k, lang) for k in result.missing_kinds) or word("none", lang)
    out.print(word("population", lang, total=f"{pop.total:,.0f}",
                   source=_population_source(pop.source, lang), missing=missing), markup=False)
    for target in result.scored_targets():
        if target["metric"] is not None:
            out.print(target_line(target, lang), markup=False)
    out.print(f"wrote {Path(out_dir) / 'scorecard.json'}, coverage.gpkg and the map "
              f"{Path(out_dir) / 'map.html'} in {wall_s:.1f} s")


def target_line(target: dict[str, Any], lang: str) -> str:
    """A scored target in words: its indicator (the registry's label of its metric), year,
    status, gap and reason, with tier codes and kind keys replaced by their wording."""
    name = label(str(target["metric"]), lang)
    year = f" {int(target['year'])}" if target.get("year") else ""
    status = str(target.get("status", ""))
    shown = word(status, lang) if status in _WORDS else status
    line = f"{word('target', lang)} · {name}{year}: {shown}"
    if status == "not met" and target.get("gap") is not None:
        line += f" ({format_gap(target['gap'], str(target.get('unit', '')), lang)})"
    if target.get("reason"):
        line += f" ({plain_words(str(target['reason']), lang)})"
    return line


def plain_words(text: str, lang: str) -> str:
    """``text`` with park tier codes as their rules ("≥ 5,000 m² → 500 m") and facility kind
    keys written with an underscore as their names (a one-word kind such as "park" may be an
    ordinary word of the sentence, so it is left).

    Examples
    --------
    >>> plain_words("park_5000: floor; no data for fitness, health_centre", "en")
    '≥ 5,000 m² → 500 m: floor; no data for Outdoor fitness ground, Community health centre'

    Every item of a "no data for a, b" list is a kind, one-word kinds too. In Chinese the
    run's reasons are written in Chinese (:data:`ZH_REASONS`, and the park tiers'
    ``assumption_reason_zh`` of seeds/standards.yaml):

    >>> plain_words("undefined: no population", "zh")
    '无法计算：无人口'
    """
    words = _plain_words(lang)
    sep = "、" if lang == "zh" else ", "
    text = _KIND_LIST.sub(lambda m: m[1] + sep.join(
        words.get(k, k) for k in m[2].split(", ")), text)
    text = _KEY.sub(lambda m: words.get(m[0], m[0]), text)
    if lang == "zh":
        for english, chinese in _zh_phrases():
            text = text.replace(english, chinese)
    return text


_KEY = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_KIND_LIST = re.compile(r"(no data for )([a-z_0-9]+(?:, [a-z_0-9]+)*)")

#: The reasons a run writes into its scorecard (English, as the scorecard is read by programs
#: too), in Chinese for zh maps and consoles; the sentences first, then their parts.
ZH_REASONS = (
    ("not measured: the 15-minute set needs every kind of GB 50180-2018 附录B; no data for ",
     "未测算：15分钟生活圈须有 GB 50180-2018 附录B 每类设施的数据，缺少："),
    ("undefined: no kind of the life-circle set has facility data",
     "无法计算：生活圈设施均无数据"),
    ("undefined: no residential land", "无法计算：无居住用地"),
    ("undefined: no population", "无法计算：无人口"),
    ("assumption: ", "假设："),
    ("; ", "；"),
)


@cache
def _zh_phrases() -> tuple[tuple[str, str], ...]:
    """:data:`ZH_REASONS` after the park tiers' assumptions (seeds/standards.yaml), which a
    reason quotes whole."""
    from lifecircle.seeds import load_standards

    tiers = load_standards()["park_tiers"]["presets"].values()
    quoted = tuple((t["assumption_reason"], t["assumption_reason_zh"])
                   for preset in tiers for t in preset["tiers"] if t.get("assumption_reason_zh"))
    return quoted + ZH_REASONS


@cache
def _plain_words(lang: str) -> dict[str, str]:
    from lifecircle.coverage.parks import tier_rules
    from lifecircle.seeds import kind_names

    words = {kind: kind_label(kind, lang) for kind in kind_names()}
    for preset in ("gbt50563-2010", "activity-space-2021"):
        words |= tier_rules(preset)
    return words


def _population_source(source: str, lang: str) -> str:
    """``raster:<file>`` / ``modelled:<method>`` in words."""
    kind, _, detail = source.partition(":")
    if kind == "raster":
        return f"栅格 {detail}" if lang == "zh" else f"raster {detail}"
    if kind == "modelled":
        return f"按居住用地模拟（{detail}）" if lang == "zh" else \
            f"modelled on residential land ({detail})"
    return source


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
    from lifecircle.maps.labels import facility_ref  # here: the console starts light

    named = parks.assign(shown=[n if isinstance(n, str) and n else
                                word("unnamed", lang, ref=facility_ref(f))
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
    lang = getattr(report, "lang", "zh")
    metric = label(report.metric, lang)
    table = Table(title=word("new_sites", lang, kind=kind_label(report.kind, lang),
                             metric=metric))
    for column in ("order", "site", "source", "size", "after"):
        table.add_column(word(column, lang), justify="right")
    for i, (row, figure) in enumerate(zip(report.sites.itertuples(), report.path,
                                          strict=True), start=1):
        table.add_row(str(i), escape(str(row.candidate_id)), escape(str(row.source)),
                      f"{row.size_m2:,.0f}", _figure(report.metric, figure))
    out.print(table)
    verdict = "" if report.target is None else word(
        "reached" if report.reached else "not_reached", lang, share=f"{report.target:.0%}")
    after = (report.path or [report.before])[-1]
    out.print(word("site_line", lang, metric=metric, before=_figure(report.metric, report.before),
                   after=_figure(report.metric, after), n=len(report.path), verdict=verdict,
                   status=report.solve.get("status"), gap=_gap(report.solve.get("gap"))),
              markup=False)


def _gap(gap: object) -> str:
    """The solver's relative MIP gap, short ("2.1e-16")."""
    return f"{gap:.2g}" if isinstance(gap, float) else str(gap)


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


def batch_summary(summary: pd.DataFrame, out_dir: Path) -> None:
    """One row per area of a batch and where the summary is."""
    frame_table(summary, "lifecircle batch")
    out.print(f"wrote {out_dir / 'summary.csv'}: {len(summary)} areas, "
              f"{summary['error'].notna().sum()} failed")


def registry_tables(lang: str) -> None:
    """``lifecircle metrics``: the metric registry (labels in ``lang``) and the facility kinds
    with their thresholds, circle levels and clauses."""
    from lifecircle.metrics import kinds_frame, registry_frame

    frame_table(registry_frame().drop(columns=f"label_{'zh' if lang == 'en' else 'en'}"),
                "metrics")
    frame_table(kinds_frame(lang), "facility kinds")


def frame_table(frame: pd.DataFrame, title: str) -> None:
    """Any small table (batch summary, metric registry)."""
    table = Table(title=title)
    for column in frame.columns:  # ids and numbers stay whole; long texts wrap
        long_text = str(column) in ("definition", "denominator", "clause", "stage", "error")
        table.add_column(str(column), overflow="fold" if long_text else "ellipsis",
                         no_wrap=not long_text)
    for row in frame.itertuples(index=False):
        table.add_row(*[escape(_cell(v)) for v in row])
    out.print(table)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:,.1f}"
    return str(value)
