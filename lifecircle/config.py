"""``RunConfig``: every input and parameter of a run, in one pydantic model.

It is the one schema behind the command line (each field is one flag, see
:mod:`lifecircle.cli_options`), configuration files (``lifecircle run --config FILE.yaml``,
``--print-config``), scenario files (a RunConfig plus interventions) and the Python API. Defaults
that come from a standard are left ``None`` here and read from ``seeds/standards.yaml`` by the
accessors, so a printed configuration never freezes a standard's value by accident.

Examples
--------
>>> config = RunConfig(osm="area.osm.pbf", residential_density=400, kinds=["primary_school"])
>>> config.threshold("primary_school")
500.0
>>> RunConfig.from_yaml_text(config.to_yaml()) == config
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from lifecircle.errors import InputError
from lifecircle.seeds import kind_names, load_standards

#: A path starting so names a sample file shipped in ``lifecircle/data``.
PACKAGE_PREFIX = "package:"

#: Fields holding paths: resolved against a configuration file's folder.
PATH_FIELDS = ("osm", "graphml", "population", "boundary", "residential", "historic",
               "targets_file", "dem", "compounds", "gates")


def _group(name: str, **extra: Any) -> dict[str, Any]:
    """A field's command-line group and flag options (``flag_help``: the help of a ``--no-``
    flag, which says what turning the field off does; the description says what it is)."""
    return {"group": name, **extra}


class RunConfig(BaseModel):
    """Every input and parameter of one run.

    Exactly one network source (``osm``, ``graphml``, ``place``) and one population source
    (``population``, ``population_total``, ``residential_density``) are needed to load a study;
    that is checked when the study is loaded, so a partial configuration can still be printed.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # network (one of)
    osm: Path | None = Field(None, description="OSM extract, .osm.pbf or .osm (XML)",
                             json_schema_extra=_group("network (one of)"))
    graphml: Path | None = Field(None, description="osmnx GraphML file",
                                 json_schema_extra=_group("network (one of)"))
    place: str | None = Field(None, description='place name for osmnx, e.g. "渠县, 达州市, '
                                                '四川省" (online)',
                              json_schema_extra=_group("network (one of)"))
    # population (one of)
    population: Path | None = Field(None, description="population raster (GeoTIFF, VRT)",
                                    json_schema_extra=_group("population (one of)"))
    population_total: float | None = Field(
        None, gt=0, lt=1e10, description="people to spread over residential land (modelled grid)",
        json_schema_extra=_group("population (one of)", metavar="N"))
    residential_density: float | None = Field(
        None, gt=0, lt=1e6, description="people per hectare of residential land (modelled grid)",
        json_schema_extra=_group("population (one of)", metavar="P"))
    # study area (at most one)
    boundary: Path | None = Field(None, description="study area boundary (any vector file)",
                                  json_schema_extra=_group("study area (at most one)"))
    county: str | None = Field(None, description="study area by county/district name, e.g. 渠县 "
                                                 "(needs the boundaries extra)",
                               json_schema_extra=_group("study area (at most one)"))
    adcode: str | None = Field(None, description="study area by administrative code, e.g. 511725",
                               json_schema_extra=_group("study area (at most one)"))
    # layers
    residential: Path | None = Field(None, description="residential land layer (else from OSM)",
                                     json_schema_extra=_group("layers"))
    historic: Path | None = Field(None, description="historic districts (历史文化街区): parks >= "
                                                    "1,000 m² there count, 300 m",
                                  json_schema_extra=_group("layers"))
    facilities: list[Path] = Field(default_factory=list,
                                   description="facility file (CSV/GeoJSON/GPKG: kind, name, "
                                               "lon/lat, capacity); repeat for several",
                                   json_schema_extra=_group("layers", flag="--facilities",
                                                            action="append"))
    coords: Literal["wgs84", "gcj02", "bd09"] = Field(
        "wgs84", description="coordinates of facility CSVs (Amap: gcj02, Baidu: bd09)",
        json_schema_extra=_group("layers"))
    osm_facilities: bool = Field(True, description="take facilities from the OSM file too",
                                 json_schema_extra=_group(
                                     "layers", flag="--no-osm-facilities",
                                     flag_help="facilities from the given files only"))
    capacity_field: str = Field("capacity", description="facility file column with seats or beds",
                                json_schema_extra=_group("layers"))
    # parameters
    crs: str | None = Field(None, description='local CRS: "utm" (default), "cgcs2000" or e.g. '
                                              'EPSG:4544', json_schema_extra=_group("parameters"))
    kinds: list[str] | None = Field(None, description="kinds to measure (default: all)",
                                    json_schema_extra=_group("parameters", nargs="+"))
    thresholds_m: dict[str, float] = Field(
        default_factory=dict, description="override a kind's walking threshold, e.g. "
                                          "primary_school=800",
        json_schema_extra=_group("parameters", flag="--threshold", metavar="KIND=METRES"))
    thresholds_min: dict[str, float] = Field(
        default_factory=dict, description="a kind's walking threshold in minutes, e.g. "
                                          "primary_school=10 (metres by --walk-speed)",
        json_schema_extra=_group("parameters", flag="--threshold-minutes",
                                 metavar="KIND=MINUTES"))
    max_snap_m: float | None = Field(
        None, gt=0, le=5000, description="metres from a street beyond which a point is "
                                         "unreachable (default from standards.yaml: 300)",
        json_schema_extra=_group("parameters", flag="--max-snap"))
    distance_cap_m: float | None = Field(
        None, gt=0, le=100000, description="search bound of every walk, metres (default 5000)",
        json_schema_extra=_group("parameters", flag="--distance-cap"))
    park_preset: Literal["gbt50563-2010", "activity-space-2021"] | None = Field(
        None, description="park indicator `site --kind park --add K` optimises: gbt50563-2010 "
                          "(default, 公园绿地) or activity-space-2021 (公园绿化活动场地); a run "
                          "reports both",
        json_schema_extra=_group("parameters"))
    # walking (slopes and gated compounds, issue 19)
    dem: Path | None = Field(None, description="DEM GeoTIFF: walks become Tobler flat-equivalent "
                                               "distances (uphill costs more)",
                             json_schema_extra=_group("walking"))
    dem_units: Literal["m", "feet"] | None = Field(
        None, description="vertical unit of a DEM that does not declare one (default m)",
        json_schema_extra=_group("walking"))
    compounds: Path | None = Field(None, description="gated residential compounds (polygons, "
                                                     "optional `gated` column)",
                                   json_schema_extra=_group("walking"))
    gates: Path | None = Field(None, description="gates of the compounds (points)",
                               json_schema_extra=_group("walking"))
    osm_compounds: bool = Field(False, description="gated compounds and gates from the OSM file "
                                                   "(barrier=wall|fence rings on residential "
                                                   "land, access=private residential land, "
                                                   "barrier=gate / entrance=* nodes)",
                                json_schema_extra=_group("walking", flag="--osm-compounds"))
    walk_speed_m_per_min: float | None = Field(
        None, gt=0, le=300, description="walking speed turning minutes into metres (default: "
                                        "5/10/15 min = GB 50180's 300/500/1,000 m, other "
                                        "minutes 66.7 m/min)",
        json_schema_extra=_group("walking", flag="--walk-speed", metavar="M_PER_MIN"))
    compound_facilities: Literal["public", "private"] = Field(
        "public", description="facilities inside a compound serve everyone through its gates "
                              "(public) or only its residents (private)",
        json_schema_extra=_group("walking"))
    # targets
    region: str | None = Field(None, description="score the targets of a region, e.g. 四川",
                               json_schema_extra=_group("targets"))
    targets: list[str] | None = Field(None, description="score these target ids",
                                      json_schema_extra=_group("targets", nargs="+",
                                                               metavar="ID"))
    targets_file: Path | None = Field(None, description="a user target catalogue (same YAML form "
                                                        "as seeds/targets.yaml)",
                                      json_schema_extra=_group("targets"))
    # outputs
    name: str | None = Field(None, description="name of the study area on maps and reports, "
                                               "e.g. 渠县县城", json_schema_extra=_group("outputs"))
    lang: Literal["zh", "en"] = Field("zh", description="language of maps, figures and tables",
                                      json_schema_extra=_group("outputs"))
    figures: bool = Field(True, description="draw the static PNG figures (and print the report "
                                            "as PDF)",
                          json_schema_extra=_group("outputs", flag="--no-figures",
                                                   flag_help="no PNG figures (and no report.pdf)"))
    report: bool = Field(True, description="write report.html (and report.pdf with figures)",
                         json_schema_extra=_group("outputs", flag="--no-report",
                                                  flag_help="no report.html or report.pdf"))
    facility_circles: bool = Field(
        False, description="also draw every facility's own service circle (coverage.gpkg "
                           "service_circles, outlined on the map); default: each kind's covered "
                           "area, the union of its circles, from one search per kind",
        json_schema_extra=_group("outputs"))
    tiles: Literal["none", "osm", "tianditu"] = Field(
        "none", description="online tiles under the maps, fetched by the browser: none "
                            "(default, offline basemap from the OSM file), osm, or tianditu "
                            "(key from the TIANDITU_KEY environment variable; it ends up in "
                            "map.html)", json_schema_extra=_group("outputs"))

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, kinds: list[str] | None) -> list[str] | None:
        for kind in kinds or []:
            _check_kind(kind)
        return kinds

    @field_validator("tiles")
    @classmethod
    def _tile_key(cls, tiles: str) -> str:
        if tiles == "tianditu":  # a missing key fails with the configuration, before any work
            from lifecircle.maps.tiles import TIANDITU_ENV, missing_key_message

            if not os.environ.get(TIANDITU_ENV, "").strip():
                raise ValueError(missing_key_message())
        return tiles

    @field_validator("thresholds_m", "thresholds_min")
    @classmethod
    def _known_thresholds(cls, value: dict[str, float], info: ValidationInfo
                          ) -> dict[str, float]:
        top, words = {"thresholds_m": (20000, "20,000 m"),
                      "thresholds_min": (300, "300 minutes")}[info.field_name]
        for kind, amount in value.items():
            _check_kind(kind)
            if not 0 < amount <= top:
                raise ValueError(f"threshold for {kind} must be between 0 and {words}")
        return value

    @model_validator(mode="after")
    def _one_threshold_per_kind(self) -> RunConfig:
        both = sorted(set(self.thresholds_m) & set(self.thresholds_min))
        if both:
            raise ValueError(f"{both[0]}: give its threshold in metres or in minutes, not both")
        if self.osm_compounds and self.compounds is not None:
            raise ValueError("compounds: give --compounds FILE or --osm-compounds, not both")
        return self

    # --- accessors: the standard's defaults where the configuration says nothing --------------

    def threshold(self, kind: str) -> float:
        """The walking threshold of a kind (metres): the override in metres, else the override
        in minutes converted by :func:`minutes_to_metres`, else the standard's."""
        if kind in self.thresholds_m:
            return float(self.thresholds_m[kind])
        if kind in self.thresholds_min:
            return minutes_to_metres(self.thresholds_min[kind], self.walk_speed_m_per_min)
        return float(load_standards()["kinds"][kind]["threshold_m"])

    def minutes_section(self) -> dict[str, Any]:
        """What the scorecard says about minutes: the speed and conversion, and each threshold
        given in minutes with its metres."""
        return {"speed_m_per_min": self.walk_speed_m_per_min,
                "conversion": conversion_text(self.walk_speed_m_per_min),
                "thresholds": {kind: {"minutes": minutes, "metres": self.threshold(kind)}
                               for kind, minutes in self.thresholds_min.items()}}

    def snap_m(self) -> float:
        """Largest straight-line distance from a point to the network (metres)."""
        if self.max_snap_m is not None:
            return float(self.max_snap_m)
        return float(load_standards()["snapping"]["max_snap_m"])

    def cap_m(self) -> float:
        """Bound of every Dijkstra search (metres)."""
        if self.distance_cap_m is not None:
            return float(self.distance_cap_m)
        return float(load_standards()["snapping"]["distance_cap_m"])

    def measured_kinds(self) -> list[str]:
        """The kinds this run measures (all of standards.yaml unless ``kinds`` narrows them)."""
        return list(self.kinds) if self.kinds else kind_names()

    def reach_m(self) -> float:
        """The longest walk any metric counts: largest threshold plus snapping at both ends.

        A region cut this far around an area gives the area the same coverage as the whole
        region would.
        """
        return max(self.threshold(k) for k in self.measured_kinds()) + 2 * self.snap_m()

    def input_paths(self) -> list[Path]:
        """Every file the configuration reads (an output folder must never hold one)."""
        named = [getattr(self, name) for name in PATH_FIELDS] + list(self.facilities)
        return [path for path in named if path is not None]

    # --- YAML ------------------------------------------------------------------------------------

    def to_yaml(self) -> str:
        """The configuration as YAML, only the fields that differ from the defaults."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    def portable(self) -> dict[str, Any]:
        """The options that differ from the defaults, as a file read from any folder gives
        them back: input paths absolute, the packaged sample as ``package:NAME``.

        Examples
        --------
        >>> from lifecircle.data import sample_path
        >>> RunConfig(osm=sample_path(), residential_density=400).portable()
        {'osm': 'package:chengdu_central.osm.pbf', 'residential_density': 400.0}
        """
        from lifecircle.data import sample_path

        sample = Path(sample_path()).resolve()

        def name(path: Path) -> str:
            path = Path(path).resolve()
            return f"{PACKAGE_PREFIX}{path.name}" if path == sample else str(path)

        data = self.model_dump(mode="json", exclude_defaults=True)
        for key in [*PATH_FIELDS, "facilities"]:
            if key in data:
                value = getattr(self, key)
                data[key] = ([name(v) for v in value] if key == "facilities" else name(value))
        return data

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "configuration",
                       base: Path | None = None) -> RunConfig:
        """Validate YAML text; relative paths resolve against ``base``.

        Raises
        ------
        InputError
            ``SOURCE:LINE: field: problem`` for the first problem found.
        """
        return load_mapping(cls, text, source, base)

    @classmethod
    def from_file(cls, path: str | Path) -> RunConfig:
        """Read a configuration file; relative paths resolve against its folder."""
        path = Path(path)
        return cls.from_yaml_text(read_text(path), str(path), path.parent)

    def resolved(self, base: Path) -> RunConfig:
        """A copy with relative paths made relative to ``base``; ``package:NAME`` names a sample
        file shipped with lifecircle (``package:chengdu_central.osm.pbf``)."""
        update: dict[str, Any] = {}
        for name in PATH_FIELDS:
            value = getattr(self, name)
            if value is not None:
                update[name] = _resolve(value, base)
        update["facilities"] = [_resolve(p, base) for p in self.facilities]
        return self.model_copy(update=update)


def minutes_to_metres(minutes: float, speed_m_per_min: float | None = None) -> float:
    """A walk of ``minutes`` as metres of flat ground.

    Without a speed, 5, 10 and 15 minutes are the standard's circles (``circles_m`` of
    standards.yaml: 300, 500 and 1,000 m, GB 50180-2018 §2.0.2-2.0.4 / 表 3.0.4), not a speed:
    the standard fixes the circles by distance and no single speed gives all three (60, 50 and
    66.7 m/min). Other minutes use ``walking.speed_m_per_min`` (assumption: 1,000 m / 15 min),
    rounded to the metre. A speed given by the user converts every minute value, 5/10/15
    included. With a DEM the metres are flat-equivalent, so minutes count slopes too.

    Examples
    --------
    >>> [minutes_to_metres(m) for m in (5, 10, 15, 20)]
    [300.0, 500.0, 1000.0, 1333.0]
    >>> minutes_to_metres(10, speed_m_per_min=80)
    800.0
    """
    if speed_m_per_min is not None:
        return float(round(float(minutes) * float(speed_m_per_min), 6))
    standards = load_standards()
    circles = {float(k): float(v) for k, v in standards["circles_m"].items()
               if str(k).isdigit()}
    speed = float(standards["walking"]["speed_m_per_min"])
    return circles.get(float(minutes), float(round(float(minutes) * speed)))


def conversion_text(speed_m_per_min: float | None) -> str:
    """One line saying how minutes became metres (the scorecard's)."""
    if speed_m_per_min is not None:
        return (f"minutes x {speed_m_per_min:g} m/min (user speed), flat-equivalent metres "
                "(slopes count when a DEM is given)")
    speed = float(load_standards()["walking"]["speed_m_per_min"])
    return ("5/10/15 min = 300/500/1,000 m (GB 50180-2018 表 3.0.4 circles, by distance: no "
            f"single speed gives all three); other minutes x {speed:g} m/min (assumption: "
            "1,000 m / 15 min); flat-equivalent metres (slopes count when a DEM is given)")


def _resolve(path: Path, base: Path) -> Path:
    if str(path).startswith(PACKAGE_PREFIX):
        from lifecircle.data import sample_path

        return sample_path(str(path).removeprefix(PACKAGE_PREFIX))
    return path if path.is_absolute() else base / path


def _check_kind(kind: str) -> str:
    if kind not in kind_names():
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(kind_names())}")
    return kind


def read_text(path: Path) -> str:
    """A UTF-8 text file, or one line naming the file and the problem.

    Raises
    ------
    InputError
        Missing, a folder, unreadable, or not UTF-8.
    """
    if not path.is_file():
        raise InputError(path, "file not found" if not path.exists() else "is not a file")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "is not UTF-8 text (save it as UTF-8)") from None
    except OSError as exc:
        raise InputError(path, f"cannot be read ({exc.strerror})") from None


def load_mapping(model: type[BaseModel], text: str, source: str, base: Path | None):
    """Parse YAML text into ``model``; errors name the source, the line and the field.

    Raises
    ------
    InputError
        Not YAML, not a mapping, or a field fails validation.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_nodes(node, source)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{source}{line}", f"not valid YAML ({getattr(exc, 'problem', exc)})") \
            from None
    except RecursionError:
        raise InputError(source, "nested too deeply to be a configuration") from None
    if not isinstance(data, dict):
        raise InputError(source, "expected a mapping of options (key: value)")
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "file"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise InputError(f"{source}:{_line_of(node, error['loc'])}", f"{where}: {message}") \
            from None
    return value.resolved(base) if base is not None and hasattr(value, "resolved") else value


#: Most values a configuration may expand to through aliases (assumption: a full configuration
#: with every option and a few hundred interventions is under 10,000; a "billion laughs" file
#: expands to 10^9)
MAX_YAML_VALUES = 10_000


def _check_nodes(root: yaml.Node | None, source: str) -> None:
    """Refuse a key given twice in one mapping (YAML keeps the last silently) and aliases that
    expand the document beyond :data:`MAX_YAML_VALUES` values, before anything is built.

    Aliases share one node, so the expanded size is counted once per node (memoised).
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a recursive alias counts once
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise InputError(f"{source}:{key.start_mark.line + 1}",
                                         f"{key.value}: given twice in the same mapping")
                    seen.add(key.value)
                total += size(key) + size(value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        if total > MAX_YAML_VALUES:
            raise InputError(source, f"its aliases expand it to more than {MAX_YAML_VALUES:,} "
                                     "values (a YAML bomb?); write the values out")
        sizes[id(node)] = total
        return total

    if root is not None:
        size(root)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """Line (1-based) of the deepest YAML node on an error's path."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == part), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
