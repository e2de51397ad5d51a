"""The metric registry: every metric a run can produce, with its unit, labels and definition.

One record per metric id or id pattern (``walk_coverage.<kind>``). The scorecard, the console
tables, the maps, the figures and the target catalogue read units and labels from here, never
from the value itself. A measured value is a :class:`Metric`: a typed record whose unit comes
from the registry.

Examples
--------
>>> spec("walk_coverage.primary_school").unit
'share'
>>> label("walk_coverage.primary_school", "zh")
'小学步行覆盖率'
>>> format_value(0.088, "beds_per_1000", "en")
'0.09 beds per 1,000'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lifecircle.seeds import kind_names, load_standards

if TYPE_CHECKING:  # the tables below import pandas when asked: a command's start stays light
    import pandas as pd


@dataclass(frozen=True)
class Unit:
    """A unit of measure and how a value in it reads.

    Attributes
    ----------
    zh, en : the unit after a number ("" for shares, shown as percentages)
    description : what one unit is
    decimals : decimals shown
    """

    zh: str
    en: str
    description: str
    decimals: int = 2


#: Units of metrics and of the plans' targets.
UNITS: dict[str, Unit] = {
    "share": Unit("", "", "fraction 0..1 of a population, an area or a set (shown as %)", 1),
    "percent": Unit("%", "%", "a percentage that is not a share, e.g. a growth rate", 1),
    "percentage_points": Unit("个百分点", "pp", "change of a percentage, in points", 1),
    "percentage_points_per_year": Unit("个百分点/年", "pp per year",
                                       "yearly change of a percentage, in points", 1),
    "m2_per_person": Unit("m²/人", "m²/person", "square metres per resident"),
    "beds_per_1000": Unit("床/千人", "beds per 1,000", "beds per 1,000 residents"),
    "beds_per_1000_elderly": Unit("床/千老人", "beds per 1,000 elderly",
                                  "beds per 1,000 elderly residents"),
    "places_per_1000": Unit("学位/千人", "places per 1,000", "places per 1,000 residents"),
    "students_per_teacher": Unit("生/师", "students per teacher",
                                 "students per full-time teacher", 1),
    "count": Unit("个", "", "number of facilities, sites, estates or places", 0),
    "facilities_per_county": Unit("个/县", "per county", "facilities in each county", 0),
    "dwellings": Unit("套", "dwellings", "housing units (套/间)", 0),
    "persons": Unit("人", "people", "residents", 0),
    "persons_per_year": Unit("人/年", "people per year", "residents added per year", 0),
    "metres": Unit("m", "m", "metres of walking", 0),
    "km": Unit("km", "km", "kilometres", 1),
    "km2": Unit("km²", "km²", "square kilometres", 2),
    "yuan_per_person": Unit("元/人", "yuan per person", "yuan per resident", 0),
    "years": Unit("年", "years", "years", 0),
}


@dataclass(frozen=True)
class MetricSpec:
    """One metric id or pattern of the registry.

    Attributes
    ----------
    pattern : the id, with ``<kind>`` standing for a facility kind of standards.yaml
    unit : a key of :data:`UNITS`
    label_zh, label_en : names; ``{kind}`` is filled with the kind's label
    definition : one sentence: what is measured
    denominator : what the value is a share of, or what it is per
    clause : the standard or plan clause it follows, or "assumption: ..." / "product metric"
    stage : the stage of a run that produces it
    kinds : the kinds ``<kind>`` may stand for (None: every kind of standards.yaml)
    """

    pattern: str
    unit: str
    label_zh: str
    label_en: str
    definition: str
    denominator: str
    clause: str
    stage: str
    kinds: tuple[str, ...] | None = None

    def matches(self, metric_id: str) -> str | None:
        """The kind a pattern id stands for ("" for a plain id), or None when it does not match."""
        if "<kind>" not in self.pattern:
            return "" if metric_id == self.pattern else None
        head, tail = self.pattern.split("<kind>")
        if not (metric_id.startswith(head) and metric_id.endswith(tail)):
            return None
        kind = metric_id[len(head): len(metric_id) - len(tail)]
        allowed = self.kinds if self.kinds is not None else tuple(kind_names())
        return kind if kind in allowed else None

    def label(self, lang: str, kind: str = "") -> str:
        """The label in ``lang`` ("zh" or "en") with the kind's name filled in."""
        text = self.label_zh if lang == "zh" else self.label_en
        return text.format(kind=kind_label(kind, lang)) if kind else text


_CATCHMENT_STAGE = "catchments (coverage/catchments.py)"
_PARK_STAGE = "parks (coverage/parks.py)"

#: Every metric a run produces.
REGISTRY: tuple[MetricSpec, ...] = (
    MetricSpec("walk_coverage.<kind>", "share", "{kind}步行覆盖率", "Walk coverage: {kind}",
               "share of residents whose nearest facility of the kind is within the kind's "
               "walking threshold along the streets",
               "population of the study area",
               "GB 50180-2018 附录B/C service radius of the kind (see `lifecircle metrics`)",
               "distances (coverage/walk.py)"),
    MetricSpec("facility_count.<kind>", "count", "{kind}数量", "{kind}: facilities",
               "facilities of the kind in the input layers", "none", "product metric",
               "distances (coverage/walk.py)"),
    MetricSpec("life_circle_15min_complete", "share", "15分钟生活圈完整率",
               "15-minute life circle complete",
               "share of residents reaching every kind of the life-circle set within each "
               "kind's threshold; not measured unless every kind of the set has data",
               "population of the study area",
               "GB 50180-2018 §2.0.2-2.0.4 and 附录B: the facilities of the life circles",
               "completeness (coverage/circles.py)"),
    MetricSpec("park_service_radius_coverage", "share", "公园绿地服务半径覆盖率",
               "Park service-radius coverage",
               "residential land inside straight-line buffers of park polygons, radius by park "
               "size tier", "residential land (dissolved) of the study area",
               "GB/T 50563-2010 公园绿地服务半径覆盖率", _PARK_STAGE),
    MetricSpec("park_activity_space_coverage", "share", "公园绿化活动场地服务半径覆盖率",
               "Park and green activity space service-radius coverage",
               "residential land inside straight-line buffers of parks, squares and green "
               "activity spaces, radius by size tier (300 m 见绿 / 500 m 见园)",
               "residential land (dissolved) of the study area",
               "城市体检指标体系 公园绿化活动场地服务半径覆盖率 (Sichuan's plan 五、(四)); "
               "assumption: tier floors not verified against the indicator's note", _PARK_STAGE),
    MetricSpec("park_service_radius_coverage_walk", "share", "公园绿地服务半径覆盖率（步行）",
               "Park service-radius coverage (walking)",
               "residential land a walk from park entrances reaches within the park's tier "
               "radius (streets, then a straight leg)",
               "residential land (dissolved) of the study area",
               "GB/T 50563-2010 tiers; walking variant: product metric", _PARK_STAGE),
    MetricSpec("park_service_radius_coverage_population", "share",
               "公园绿地服务半径覆盖率（人口）", "Park service-radius coverage (population)",
               "share of residents whose walk to a park is within that park's tier radius",
               "population of the study area",
               "GB/T 50563-2010 tiers; population variant: product metric", _PARK_STAGE),
    MetricSpec("park_green_per_capita_m2", "m2_per_person", "人均公园绿地面积",
               "Park green per resident",
               "dissolved park polygons inside the study area per resident", "population",
               "GB/T 50563-2010 人均公园绿地面积", "supply (coverage/supply.py)"),
    MetricSpec("catchment.<kind>.over_capacity_demand_share", "share",
               "{kind}超容量服务范围需求占比", "{kind}: demand in over-capacity catchments",
               "share of the kind's demand living in catchments (nearest facility by walking) "
               "whose demand exceeds the facility's capacity",
               "demand of the kind (residents of its ages) in the study area",
               "assumption: capacities default to the kind's standard size where unknown",
               _CATCHMENT_STAGE),
    MetricSpec("catchment.<kind>.beyond_threshold_demand_share", "share",
               "{kind}超出服务半径需求占比", "{kind}: demand beyond the threshold",
               "share of the kind's demand whose nearest facility is farther than the threshold",
               "demand of the kind (residents of its ages) in the study area",
               "GB 50180-2018 附录B/C service radius of the kind", _CATCHMENT_STAGE),
    MetricSpec("places_per_1000.<kind>", "places_per_1000", "每千人{kind}学位",
               "{kind}: places per 1,000 residents",
               "places of every facility of the kind per 1,000 residents",
               "residents of the study area",
               "assumption: default capacities where a facility's own is unknown",
               _CATCHMENT_STAGE, kinds=("childcare", "kindergarten")),
    MetricSpec("beds_per_1000.<kind>", "beds_per_1000", "每千人{kind}床位",
               "{kind}: beds per 1,000 residents",
               "beds of every facility of the kind per 1,000 residents",
               "residents of the study area",
               "assumption: default beds where a facility's own is unknown", _CATCHMENT_STAGE,
               kinds=("health_centre", "hospital")),
)


@lru_cache(maxsize=512)
def _resolve(metric_id: str) -> tuple[MetricSpec, str] | None:
    for entry in REGISTRY:
        kind = entry.matches(metric_id)
        if kind is not None:
            return entry, kind
    return None


def spec(metric_id: str) -> MetricSpec | None:
    """The registry record of a metric id (None when no metric of that id exists).

    Examples
    --------
    >>> spec("park_service_radius_coverage").clause
    'GB/T 50563-2010 公园绿地服务半径覆盖率'
    >>> spec("walk_coverage.teleport") is None
    True
    """
    found = _resolve(metric_id)
    return found[0] if found else None


def is_registered(metric_id: str) -> bool:
    """Whether ``metric_id`` is a metric of the registry."""
    return _resolve(metric_id) is not None


def unit_of(metric_id: str) -> str | None:
    """The unit of a registered metric id, else None."""
    found = spec(metric_id)
    return found.unit if found else None


def kind_label(kind: str, lang: str) -> str:
    """A facility kind's name from ``standards.yaml`` (``label_zh`` / ``label_en``)."""
    entry = load_standards()["kinds"].get(kind)
    return kind if entry is None else str(entry[f"label_{lang}"])


def label(metric_id: str, lang: str) -> str:
    """A metric's name in ``lang``; an unregistered id is returned as is."""
    found = _resolve(metric_id)
    if found is None:
        return metric_id
    entry, kind = found
    return entry.label(lang, kind)


def format_value(value: float | None, unit: str, lang: str) -> str:
    """A value in its unit: shares as percentages, others with their unit.

    Examples
    --------
    >>> format_value(0.402, "share", "zh")
    '40.2%'
    >>> format_value(6.63, "m2_per_person", "zh")
    '6.63 m²/人'
    >>> format_value(None, "share", "en")
    '—'
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    found = UNITS.get(unit)
    if unit == "share":
        return f"{value * 100:.1f}%"
    if found is None:
        return f"{value:,.2f} {unit}"
    number = f"{value:,.{found.decimals}f}"
    suffix = found.zh if lang == "zh" else found.en
    return f"{number} {suffix}".strip()


def format_gap(gap: float | None, unit: str, lang: str) -> str:
    """How far a value is from its target; shares in percentage points."""
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return "—"
    if unit == "share":
        return f"{gap * 100:.1f} {'个百分点' if lang == 'zh' else 'pp'}"
    return format_value(gap, unit, lang)


#: A metric's status in a scorecard.
MEASURED, ASSUMED, NOT_MEASURED = "measured", "assumed", "not measured"


@dataclass(frozen=True)
class Metric:
    """One measured (or not measurable) metric of a run.

    Attributes
    ----------
    id : a registered metric id
    value : the value in the registry's unit (None when not measured)
    method : how it was computed on this run
    denominator : what it is a share of or per, on this run
    status : "measured", "assumed" (rests on assumed parameters) or "not measured"
    reason : why it is not measured or what is assumed
    details : further figures of the computation (areas, counts, thresholds)
    """

    id: str
    value: float | None
    method: str
    denominator: str
    status: str = MEASURED
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_registered(self.id):
            raise ValueError(f"metric {self.id!r} is not in the registry (lifecircle.metrics)")
        value = self.value
        if value is not None and not math.isfinite(float(value)):
            value = None
        status = NOT_MEASURED if value is None and self.status == MEASURED else self.status
        object.__setattr__(self, "value", None if value is None else float(value))
        object.__setattr__(self, "status", status)

    @property
    def unit(self) -> str:
        """The registry's unit of this metric."""
        return unit_of(self.id) or ""

    def as_dict(self) -> dict[str, Any]:
        """The scorecard.json entry (DESIGN §4): value, unit, method, denominator, status and
        the details."""
        entry = {"value": self.value, "unit": self.unit, "method": self.method,
                 "denominator": self.denominator, "status": self.status}
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry | self.details


def registry_frame(lang: str = "zh") -> pd.DataFrame:
    """The registry as a table (``lifecircle metrics``): one row per id pattern, then one row
    per facility kind with its threshold, circle level and clause."""
    import pandas as pd

    rows = [{"metric": m.pattern, "unit": m.unit, "label_zh": m.label_zh, "label_en": m.label_en,
             "definition": m.definition, "denominator": m.denominator, "clause": m.clause,
             "stage": m.stage} for m in REGISTRY]
    return pd.DataFrame(rows)


def kinds_frame(lang: str = "zh") -> pd.DataFrame:
    """Facility kinds of standards.yaml: label, threshold, circle level, and the clause the
    threshold follows, marked "assumption:" or "verify:" where it is not (yet) read from its
    source."""
    import pandas as pd

    rows = []
    for kind, entry in load_standards()["kinds"].items():
        clause = str(entry.get("source", ""))
        if entry.get("assumption"):
            clause = f"assumption: {entry['assumption']} ({clause})"
        elif entry.get("verify"):
            clause = f"{clause}; verify: {entry['verify']}"
        rows.append({"kind": kind, "label": entry[f"label_{lang}"],
                     "threshold_m": float(entry["threshold_m"]), "level": entry.get("level"),
                     "clause": clause})
    return pd.DataFrame(rows)
