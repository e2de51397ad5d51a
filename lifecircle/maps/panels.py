"""HTML of the map's fixed panels: the scorecard (plan targets), the legend, and their CSS.

Every value shown comes from scorecard.json as the run wrote it; this module only formats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from html import escape
from typing import Any

from lifecircle.maps.labels import (
    comparator,
    format_gap,
    format_value,
    kind_label,
    metres,
    metric_label,
    text,
)
from lifecircle.maps.styles import UNCOVERED_COLOUR, kind_colour
from lifecircle.seeds import kind_names

#: SVG pattern for uncovered residential land (referenced by the ``lc-hatch`` CSS class).
HATCH_DEFS = (
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>'
    '<pattern id="lc-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)">'
    f'<rect width="8" height="8" fill="{UNCOVERED_COLOUR}" fill-opacity="0.18"/>'
    f'<line x1="0" y1="0" x2="0" y2="8" stroke="{UNCOVERED_COLOUR}" stroke-width="3"/>'
    "</pattern></defs></svg>"
)

PAGE_CSS = f"""
.leaflet-container {{ background: #f2f0eb; font-family: "Noto Sans CJK SC", "Noto Sans SC",
  "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; }}
.lc-panel {{ position: absolute; z-index: 1000; background: rgba(255,255,255,0.94);
  border-radius: 6px; box-shadow: 0 1px 5px rgba(0,0,0,0.35); padding: 8px 10px;
  font: 12px/1.35 "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei",
  system-ui, sans-serif; color: #222; overflow: auto; }}
#lc-scorecard {{ top: 10px; left: 54px; width: min(420px, calc(100vw - 120px));
  max-height: calc(55% - 20px); overflow-x: hidden; }}
@media (min-width: 1600px) {{ #lc-scorecard {{ width: 520px; }} }}
#lc-legend {{ bottom: 40px; left: 10px; max-width: 300px; max-height: calc(45% - 50px); }}
.lc-panel h1 {{ font-size: 15px; margin: 0 0 2px; }}
.lc-panel h2 {{ font-size: 12px; margin: 8px 0 3px; }}
.lc-panel .lc-sub {{ color: #555; }}
.lc-panel table {{ border-collapse: collapse; width: 100%; }}
.lc-panel th {{ text-align: left; font-weight: 600; border-bottom: 1px solid #ccc; }}
.lc-panel td, .lc-panel th {{ padding: 2px 4px; vertical-align: top; }}
/* numbers never break inside (the comparator is joined by a no-break space); a long unit may
   wrap, and the indicator keeps room for a few words, so no column squeezes another to one word
   a line or pushes the table past the panel's edge */
.lc-panel td.lc-num {{ text-align: right; white-space: normal; }}
#lc-targets td:first-child {{ min-width: 10em; overflow-wrap: anywhere; }}
#lc-targets .lc-nb {{ white-space: nowrap; }}
#lc-targets td:last-child {{ min-width: 6.5em; }}  /* "not measured" on one line */
.lc-panel .lc-year {{ color: #777; font-size: 11px; }}
.lc-panel summary {{ cursor: pointer; font-weight: 600; margin-top: 6px; }}
tr.lc-met td:first-child {{ border-left: 4px solid #1a9850; }}
tr.lc-not-met td:first-child {{ border-left: 4px solid #d73027; }}
tr.lc-not-measured td:first-child {{ border-left: 4px solid #9e9e9e; }}
tr.lc-assumed td:first-child {{ border-left: 4px solid #f0a500; }}
tr.lc-met .lc-status {{ color: #1a9850; }}
tr.lc-not-met .lc-status {{ color: #d73027; }}
tr.lc-not-measured {{ color: #777; }}
tr.lc-chosen {{ font-weight: 600; }}
.lc-legend-row {{ display: flex; align-items: center; gap: 6px; margin: 1px 0; }}
.lc-swatch {{ width: 16px; height: 12px; flex: none; border: 1px solid rgba(0,0,0,0.25); }}
.lc-swatch-hatch {{ background: repeating-linear-gradient(45deg, {UNCOVERED_COLOUR} 0 2px,
  rgba(197,27,125,0.15) 2px 6px); border-color: {UNCOVERED_COLOUR}; }}
.lc-fac {{ display: flex; align-items: center; justify-content: center; border-radius: 50%;
  color: #fff; font: bold 11px/1 "Noto Sans CJK SC", "Noto Sans SC", sans-serif;
  border: 1.5px solid #fff; box-shadow: 0 0 2px rgba(0,0,0,0.6); box-sizing: border-box; }}
span.lc-fac {{ display: inline-flex; width: 16px; height: 16px; font-size: 9px;
  vertical-align: middle; }}
div.lc-marker {{ width: 20px; height: 20px; }}
.lc-divicon {{ background: none; border: none; }}
path.lc-hatch {{ fill: url(#lc-hatch); fill-opacity: 1; }}
.leaflet-control-layers-expanded {{ max-height: 70vh; overflow-y: auto; }}
.leaflet-control-attribution {{ font-size: 11px; }}
"""


def fac_badge(kind: str, glyph: str, marker: bool = False) -> str:
    """A round badge in the kind's colour with its glyph: a map marker or, inline, a label."""
    tag, cls = ("div", "lc-fac lc-marker") if marker else ("span", "lc-fac")
    return (f'<{tag} class="{cls}" style="background:{kind_colour(kind)}">'
            f"{escape(glyph)}</{tag}>")


@dataclass
class LegendSection:
    """A titled group of legend rows; each row is ``(swatch_html, label, layer id or None)``.

    ``layers`` are the ids of the map layers the section explains: the page shows the section only
    while one of them is on the map, and a row tied to a layer only while that layer is
    (``LEGEND_JS``).
    """

    title: str
    layers: list[str]
    rows: list[tuple[str, str, str | None]] = field(default_factory=list)

    def add_fill(self, colour: str, label: str) -> None:
        """A filled square swatch."""
        self.rows.append((f'<span class="lc-swatch" style="background:{colour}"></span>', label,
                          None))

    def add_dashed(self, colour: str, label: str) -> None:
        """An unfilled swatch with a dashed outline (the study area)."""
        self.rows.append((f'<span class="lc-swatch" style="background:none;'
                          f'border:2px dashed {colour}"></span>', label, None))

    def add_outlined(self, colour: str, label: str, layer: str) -> None:
        """A lightly filled, outlined swatch shown while ``layer`` is (service circles)."""
        self.rows.append((f'<span class="lc-swatch" style="background:{colour}33;'
                          f'border:1.5px solid {colour}"></span>', label, layer))
        self.layers.append(layer)

    def add_hatch(self, label: str) -> None:
        """The hatched swatch of uncovered residential land."""
        self.rows.append(('<span class="lc-swatch lc-swatch-hatch"></span>', label, None))


#: Shows legend sections and rows only while one of their layers is on the map
#: (``window.lifecircle``: the map and its named layers).
LEGEND_JS = """
function lcLegend() {
  document.querySelectorAll("#lc-legend [data-layers]").forEach(function (element) {
    var shown = element.dataset.layers.split(" ").some(function (id) {
      var group = window.lifecircle.layers[id];
      return group && window.lifecircle.map.hasLayer(group);
    });
    element.style.display = shown ? "" : "none";
  });
}
window.lifecircle.map.on("overlayadd overlayremove", lcLegend);
lcLegend();
"""


def legend_html(sections: list[LegendSection], lang: str) -> str:
    """The legend panel (``#lc-legend``)."""
    parts = [f'<div id="lc-legend" class="lc-panel"><h1>{escape(text("legend", lang))}</h1>']
    for section in sections:
        parts.append(f'<div data-layers="{escape(" ".join(section.layers))}">'
                     f"<h2>{escape(section.title)}</h2>")
        for swatch, label, layer in section.rows:
            tie = f' data-layers="{escape(layer)}"' if layer else ""
            parts.append(f'<div class="lc-legend-row"{tie}>{swatch}'
                         f"<span>{escape(label)}</span></div>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def scorecard_html(scorecard: dict[str, Any], kind: str | None, threshold_m: float | None,
                   population_line: str, lang: str) -> str:
    """The scorecard panel (``#lc-scorecard``): title, plan targets, measured metrics.

    Parameters
    ----------
    scorecard : dict
        The parsed scorecard.json.
    kind : str or None
        The kind the population cells are coloured by (its metric row is emphasised).
    threshold_m : float or None
        That kind's threshold.
    population_line : str
        Population total and source, already worded.
    lang : str
        ``zh`` or ``en``.
    """
    name = (scorecard.get("study_area") or {}).get("name")
    title = f"{name} · {text('title', lang)}" if name else text("title", lang)
    if kind is not None and threshold_m is not None:
        title += f" · {kind_label(kind, lang)} {metres(threshold_m)}"
    parts = [f'<div id="lc-scorecard" class="lc-panel"><h1>{escape(title)}</h1>',
             f'<div class="lc-sub">{escape(population_line)}</div>']
    missing = scorecard.get("missing_layers") or []
    if missing:
        kinds = ("、" if lang == "zh" else ", ").join(kind_label(k, lang) for k in missing)
        parts.append(f'<div class="lc-sub">{escape(text("no_data", lang, kinds=kinds))}</div>')
    parts.append(_targets_table(scorecard.get("targets") or [], lang))
    parts.append(_metrics_details(scorecard.get("metrics") or {}, kind,
                                  open_=not scorecard.get("targets"), lang=lang))
    parts.append("</div>")
    return "".join(parts)


def _targets_table(targets: list[dict[str, Any]], lang: str) -> str:
    head = f"<h2>{escape(text('targets', lang))}</h2>"
    if not targets:
        note = escape(text("no_targets", lang))
        return f'{head}<div class="lc-sub" id="lc-no-targets">{note}</div>'
    cols = "".join(f"<th>{escape(text(c, lang))}</th>"
                   for c in ("indicator", "value", "target", "gap"))
    rows = [f'{head}<table id="lc-targets"><thead><tr>{cols}</tr></thead><tbody>']
    for target in sorted(targets, key=_measured_first):
        status = _status(target)
        unit = str(target.get("unit", ""))
        goal = _nobreak_number(f"{comparator(str(target.get('comparator', '')))} "
                               f"{format_value(target.get('target'), unit, lang)}")
        tip = " · ".join(_plain(str(target[k]), lang) for k in ("source", "year", "reason")
                         if target.get(k))
        gap = format_gap(target.get("gap"), unit, lang) if status == "not-met" else "—"
        value_cell = format_value(target.get("value"), unit, lang)
        state = text(_state(target, status), lang)
        year = f' <span class="lc-year">{int(target["year"])}</span>' if target.get("year") else ""
        rows.append(
            f'<tr class="lc-target lc-{status}" data-target-id="{escape(str(target.get("id")))}" '
            f'data-metric="{escape(str(target.get("metric") or ""))}" title="{escape(tip)}">'
            f"<td>{escape(_indicator(target, lang))}{year}</td>"
            f'<td class="lc-num">{_nobreak_number(value_cell)}</td>'
            f'<td class="lc-num">{goal}</td>'
            f'<td class="lc-num"><span class="lc-status">{escape(state)}</span>'
            f"{'' if gap == '—' else '<br>' + _nobreak_number(gap)}</td></tr>"
        )
    rows.append("</tbody></table>")
    return "".join(rows)


def _nobreak_number(value: str) -> str:
    """HTML of a value whose comparator, number and first unit word never wrap apart:
    ``"≥ 86.0%"`` or ``"24.0 pp"`` stay whole, ``"1,000,000 people per year"`` wraps only in
    the unit (the text is escaped here)."""
    words = value.split(" ")
    head = 0
    while head < len(words) - 1 and not any(c.isdigit() for c in words[head]):
        head += 1
    whole = escape(" ".join(words[: head + 2]))
    rest = escape(" ".join(words[head + 2:]))
    return f'<span class="lc-nb">{whole}</span>{" " + rest if rest else ""}'


def _metrics_details(metrics: dict[str, Any], kind: str | None, open_: bool, lang: str) -> str:
    rows = []
    for metric_id, metric in sorted(metrics.items(), key=_metric_order):
        if metric_id.startswith("facility_count.") or not isinstance(metric, dict):
            continue
        label = metric_label(metric_id, lang)
        if metric.get("threshold_m") is not None:
            label += f" ({metres(float(metric['threshold_m']))})"
        chosen = ' class="lc-chosen"' if metric_id == f"walk_coverage.{kind}" else ""
        value = format_value(metric.get("value"), str(metric.get("unit", "")), lang)
        rows.append(f'<tr{chosen} data-metric="{escape(metric_id)}"><td>{escape(label)}</td>'
                    f'<td class="lc-num">{escape(value)}</td></tr>')
    if not rows:
        return ""
    return (f"<details{' open' if open_ else ''}><summary>{escape(text('metrics', lang))}"
            f'</summary><table id="lc-metrics">{"".join(rows)}</table></details>')


def _metric_order(item: tuple[str, Any]) -> tuple[int, int, str]:
    """Walk coverage by kind in standards.yaml order first, then the other metrics by id."""
    metric_id = item[0]
    kinds = kind_names()
    kind = metric_id.removeprefix("walk_coverage.")
    if metric_id.startswith("walk_coverage.") and kind in kinds:
        return (0, kinds.index(kind), metric_id)
    return (1, 0, metric_id)


def _status(target: dict[str, Any]) -> str:
    met = target.get("met")
    if met is True:
        return "met"
    if met is False:
        return "not-met"
    if str(target.get("status", "")).startswith("assumed"):
        return "assumed"  # a value resting on assumed parameters is shown, never judged
    return "not-measured"


def _state(target: dict[str, Any], status: str) -> str:
    """The label of a target's status: a catalogued target (no spatial metric can measure it,
    e.g. a population count: "not spatial", short for the report's "catalogued, not measured")
    is told apart from one whose data are missing ("not measured")."""
    if status == "assumed":
        return "assumed_status"
    if status == "not-measured" and target.get("status") == "catalogued, not measured":
        return "catalogued"
    return status.replace("-", "_")


def _measured_first(target: dict[str, Any]) -> int:
    return {"not-met": 0, "met": 1, "assumed": 2}.get(_status(target), 3)


def _indicator(target: dict[str, Any], lang: str) -> str:
    metric = target.get("metric")
    if lang == "en" and metric:
        return metric_label(str(metric), lang)
    if target.get("indicator"):
        return str(target["indicator"])
    indicator = _catalogue_indicators().get(str(target.get("id")))
    if indicator:
        return indicator
    return metric_label(str(metric), lang) if metric else str(target.get("id"))


@cache
def _catalogue_indicators() -> dict[str, str]:
    from lifecircle.seeds.targets import load_targets

    return {t.id: t.indicator for t in load_targets()}


def _plain(text_: str, lang: str) -> str:
    """Kind keys and park tier codes of a target's reason in words (the console's reading)."""
    from lifecircle.console import plain_words

    return plain_words(text_, lang)
