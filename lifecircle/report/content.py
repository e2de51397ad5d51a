"""What the report says, read from a run's output folder (scorecard.json, parks.csv,
facilities.csv, figures/*.png). Nothing is computed here beyond formatting: every number is the
run's own."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from lifecircle.maps.folder import OutputFolder
from lifecircle.maps.labels import (
    OSM_CREDIT,
    comparator,
    facility_ref,
    format_gap,
    format_value,
    kind_label,
    metric_label,
    population_source,
)
from lifecircle.maps.panels import _indicator
from lifecircle.notes import note_text
from lifecircle.report.words import word
from lifecircle.seeds import kind_names, load_standards


def study_name(scorecard: dict[str, Any]) -> str:
    """The study area's name: a ``name`` field (scorecard, study area, inputs.place), else the
    OSM file's name without its suffix."""
    area = scorecard.get("study_area") or {}
    inputs = scorecard.get("inputs") or {}
    for value in (scorecard.get("name"), area.get("name"), inputs.get("place")):
        if value:
            return str(value)
    osm = str(inputs.get("osm") or "")
    return osm.split(".")[0] if osm else str(area.get("source") or "")


def context(folder: OutputFolder, lang: str, figures: list[Path]) -> dict[str, Any]:
    """Everything the report template shows.

    Parameters
    ----------
    folder : the output folder, read
    lang : "zh" or "en"
    figures : the figures (paths as the page links them), known by their names without suffix
        (``coverage_park``, ``metrics_targets``...)

    Returns
    -------
    dict
        Template context (strings already formatted).
    """
    card = folder.scorecard
    area = card.get("study_area") or {}
    population = card.get("population") or {}
    name = study_name(card)
    by_name = {p.stem: p.as_posix() for p in figures}
    coverage_maps = [(kind_label(k, lang), by_name[f"coverage_{k}"]) for k in folder.kinds
                     if f"coverage_{k}" in by_name and k != "park"]
    return {
        "lang": lang,
        "w": lambda key, **fields: word(key, lang, **fields),
        "title": word("title", lang, name=name),
        "area_line": word("area_line", lang, area=_num(area.get("area_ha"), 0.01, ",.1f"),
                          network=_num(area.get("network_length_km"), 1, ",.0f"),
                          source=area_source(str(area.get("source") or ""), lang)),
        "osm_file": (card.get("inputs") or {}).get("osm") or "—",
        "population_line": word(
            "population_line", lang, total=_num(population.get("total"), 1, ",.0f"),
            cells=_num(population.get("cells"), 1, ",.0f"),
            source=population_source(str(population.get("source", "")), lang)),
        "facilities": _facility_counts(card, lang),
        "missing": [kind_label(k, lang) for k in card.get("missing_layers") or []],
        "notes": [note_text(str(n), lang) for n in card.get("notes") or []],
        "targets": [_target_row(t, lang) for t in card.get("targets") or []],
        "metrics_chart": by_name.get("metrics_targets"),
        "coverage_maps": coverage_maps,
        "park": _park_section(folder, lang, by_name),
        "catchments": _over_capacity(folder.path / "facilities.csv", lang),
        "credits": [OSM_CREDIT, folder.population_credit(lang)],
        "version": card.get("version", ""),
    }


def area_source(source: str, lang: str) -> str:
    """Where the study area comes from (scorecard ``study_area.source``) in the report's words.

    Examples
    --------
    >>> area_source("bounds declared by the OSM file", "zh")
    'OSM 文件声明的范围'
    >>> area_source("county:渠县", "en")
    'county 渠县'
    """
    if source.startswith("bounds declared"):
        return word("area_osm_bounds", lang)
    if source.startswith("extent of the data"):
        return word("area_extent", lang)
    kind, _, value = source.partition(":")
    if value and kind in ("boundary", "adcode", "county"):
        return word(f"area_{kind}", lang, value=value)
    return source or "—"


def _target_row(target: dict[str, Any], lang: str) -> dict[str, str]:
    unit = str(target.get("unit", ""))
    status = str(target.get("status") or {True: "met", False: "not met"}.get(
        target.get("met"), "not measured"))
    flags = [word(f, lang) for f in ("assumed", "approximate") if target.get(f)]
    source = str(target.get("source") or "")
    if target.get("year"):
        source += f"（{int(target['year'])}）" if lang == "zh" else f" ({int(target['year'])})"
    return {
        "indicator": _indicator(target, lang),
        "value": format_value(target.get("value"), unit, lang),
        "target": f"{comparator(str(target.get('comparator', '')))} "
                  f"{format_value(target.get('target'), unit, lang)}".strip(),
        "gap": format_gap(target.get("gap"), unit, lang) if target.get("met") is False else "—",
        "plan": source,
        "status": word(status, lang) if status in ("met", "not met", "not measured",
                                                   "assumed — not judged",
                                                   "catalogued, not measured") else status,
        "css": status.replace(" ", "-").replace("—", "").replace("--", "-"),
        "flags": "、".join(flags) if lang == "zh" else ", ".join(flags),
    }


def _facility_counts(card: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    metrics = card.get("metrics") or {}
    present = [k for k in kind_names() if f"facility_count.{k}" in metrics]
    return [(kind_label(k, lang), _num(metrics[f"facility_count.{k}"].get("value"), 1, ",.0f"))
            for k in present]


def _park_section(folder: OutputFolder, lang: str, figures: dict[str, str]) -> dict[str, Any]:
    metrics = folder.scorecard.get("metrics") or {}
    coverage = metrics.get("park_service_radius_coverage") or {}
    per_capita = metrics.get("park_green_per_capita_m2") or {}
    figures_out = [figures[f] for f in ("coverage_park", "residential_uncovered")
                   if f in figures]
    rows = []
    parks_csv = folder.path / "parks.csv"
    if parks_csv.is_file():
        parks = pd.read_csv(parks_csv, encoding="utf-8-sig")
        radii = _tier_rules(str(coverage.get("tiers") or ""), lang)
        for row in parks.sort_values("area_m2", ascending=False).to_dict("records"):
            park_name = row.get("name")
            if not isinstance(park_name, str) or not park_name.strip():
                park_name = word("unnamed_park", lang, ref=facility_ref(row.get("fid")))
            tier = str(row.get("tier", ""))
            rows.append({
                "name": park_name,
                "area": _num(row.get("area_m2"), 1, ",.0f"),
                "tier": radii.get(tier, word("not_counted", lang) if tier == "not_counted"
                                  else tier),
                "covered": _num(row.get("covered_m2"), 1, ",.0f"),
            })
    return {
        "coverage": format_value(coverage.get("value"), "share", lang),
        "coverage_label": metric_label("park_service_radius_coverage", lang),
        "per_capita": format_value(per_capita.get("value"), "m2_per_person", lang),
        "hectares": word("park_ha", lang, total=_num(coverage.get("residential_ha"), 1, ",.1f"),
                         covered=_num(coverage.get("covered_ha"), 1, ",.1f"))
        if coverage.get("residential_ha") is not None else "",
        "to_target": [_park_to_target(t, lang) for t in folder.scorecard.get("targets") or []
                      if t.get("to_target_ha") is not None],
        "figures": figures_out,
        "rows": rows,
    }


def _park_to_target(target: dict[str, Any], lang: str) -> str:
    """The residential land a park coverage target still asks for (the scorecard's
    ``to_target_ha``), with the target's own flags: an assumed value is not a judgement."""
    row = _target_row(target, lang)
    line = word("park_to_target", lang, plan=row["plan"], indicator=row["indicator"],
                target=row["target"], value=row["value"],
                hectares=_num(target["to_target_ha"], 1, ",.1f"))
    if target.get("status") == "assumed — not judged":
        line += f"（{row['status']}）" if lang == "zh" else f" ({row['status']})"
    return line


def _tier_rules(preset: str, lang: str) -> dict[str, str]:
    """Tier code -> "≥ 5,000 m² → 500 m" from the preset in standards.yaml."""
    presets = load_standards()["park_tiers"]["presets"]
    tiers = presets.get(preset or load_standards()["park_tiers"]["default"], {}).get("tiers", [])
    return {t["name"]: word("tier_rule", lang, area=f"{t['min_area_m2']:,.0f}",
                            radius=f"{t['radius_m']:,.0f}") for t in tiers}


def _over_capacity(path: Path, lang: str) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    table = pd.read_csv(path, encoding="utf-8-sig")
    if "over_capacity" not in table.columns:
        return []
    over = table[table["over_capacity"].astype(str).str.lower().isin(["true", "1"])]
    rows = []
    for row in over.sort_values("load_ratio", ascending=False).to_dict("records"):
        assumed = str(row.get("capacity_assumed")).lower() in ("true", "1")
        rows.append({
            "kind": kind_label(str(row.get("kind")), lang),
            "name": name if isinstance(name := row.get("name"), str) and name.strip()
            else word("unnamed_facility", lang, ref=facility_ref(row.get("fid"))),
            "capacity": _num(row.get("capacity"), 1, ",.0f") + ("*" if assumed else ""),
            "people": _num(row.get("population"), 1, ",.0f"),
            "demand": _num(row.get("demand"), 1, ",.0f"),
            "load": _num(row.get("load_ratio"), 1, ".2f"),
        })
    return rows


def _num(value: Any, scale: float, fmt: str) -> str:
    """A number scaled and formatted, "—" when missing."""
    try:
        number = float(value) * scale
    except (TypeError, ValueError):
        return "—"
    return format(number, fmt) if math.isfinite(number) else "—"
