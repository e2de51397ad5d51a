"""Scenario files: a study, its parameters and targets, and what-if interventions (YAML).

Validated by pydantic; an error names the file, the line and the field.

Example::

    name: 三所新小学
    study:
      osm: ../shared/data/chengdu-central/chengdu_central.osm.pbf   # relative to this file
      residential_density: 400
    targets: {region: 四川}
    interventions:
      - add: {kind: primary_school, name: 新建小学1, lon: 104.07, lat: 30.68, capacity: 1080}
      - close: {kind: hospital, name: 某医院}
      - grow: {polygon: [[104.07, 30.67], [104.08, 30.67], [104.08, 30.68]], people: 5000}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lifecircle.errors import InputError
from lifecircle.seeds import kind_names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StudySpec(_Strict):
    """Layers of the study; paths are relative to the scenario file."""

    osm: Path | None = None
    graphml: Path | None = None
    place: str | None = None
    population: Path | None = None
    population_total: float | None = Field(default=None, gt=0)
    residential_density: float | None = Field(default=None, gt=0)
    boundary: Path | None = None
    residential: Path | None = None
    facilities: list[Path] = []
    coords: Literal["wgs84", "gcj02", "bd09"] = "wgs84"
    crs: str | None = None


class ParamsSpec(_Strict):
    """Run parameters: walking thresholds per kind and snapping."""

    thresholds_m: dict[str, float] = {}
    max_snap_m: float | None = Field(default=None, gt=0, le=5000)

    @field_validator("thresholds_m")
    @classmethod
    def _known_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, metres in value.items():
            _check_kind(kind)
            if not 0 < metres <= 20000:
                raise ValueError(f"threshold for {kind} must be between 0 and 20,000 m")
        return value


class TargetsSpec(_Strict):
    """Which targets to score: a region, ids, and/or a user catalogue file."""

    region: str | None = None
    ids: list[str] | None = None
    file: Path | None = None


class Add(_Strict):
    """A new facility at a WGS84 point."""

    kind: str
    name: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    capacity: float | None = Field(default=None, gt=0)
    size_m2: float | None = Field(default=None, gt=0)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _check_kind(value)


class Close(_Strict):
    """Facilities to close, by id or by name (and kind)."""

    id: str | None = None
    name: str | None = None
    kind: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Close:
        if self.id is None and self.name is None:
            raise ValueError("close needs an id or a name")
        if self.kind is not None:
            _check_kind(self.kind)
        return self


class Grow(_Strict):
    """New residents spread evenly over a WGS84 polygon (ring of [lon, lat] pairs)."""

    polygon: list[tuple[float, float]] = Field(min_length=3)
    people: float = Field(gt=0)


class Intervention(_Strict):
    """Exactly one of add, close, grow."""

    add: Add | None = None
    close: Close | None = None
    grow: Grow | None = None

    @model_validator(mode="after")
    def _one(self) -> Intervention:
        if sum(x is not None for x in (self.add, self.close, self.grow)) != 1:
            raise ValueError("each intervention is exactly one of add, close, grow")
        return self


class Scenario(_Strict):
    """A scenario file."""

    name: str
    description: str | None = None
    study: StudySpec
    params: ParamsSpec = ParamsSpec()
    targets: TargetsSpec = TargetsSpec()
    interventions: list[Intervention] = []


def _check_kind(kind: str) -> str:
    if kind not in kind_names():
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(kind_names())}")
    return kind


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; relative paths resolve against its folder.

    Raises
    ------
    InputError
        ``FILE:LINE: field: problem`` for the first problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{line}", f"not valid YAML ({getattr(exc, 'problem', exc)})") \
            from None
    if not isinstance(data, dict):
        raise InputError(path, "a scenario file is a mapping with name, study, interventions")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        line = _line_of(node, error["loc"])
        raise InputError(f"{path}:{line}", f"{where}: {error['msg']}") from None
    return _resolve_paths(scenario, path.parent)


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """Line (1-based) of the deepest YAML node on the error's path."""
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


def _resolve_paths(scenario: Scenario, base: Path) -> Scenario:
    study = scenario.study
    fields: dict[str, Any] = {}
    for name in ("osm", "graphml", "population", "boundary", "residential"):
        value = getattr(study, name)
        if value is not None and not value.is_absolute():
            fields[name] = base / value
    fields["facilities"] = [p if p.is_absolute() else base / p for p in study.facilities]
    targets = scenario.targets
    if targets.file is not None and not targets.file.is_absolute():
        targets = targets.model_copy(update={"file": base / targets.file})
    return scenario.model_copy(update={"study": study.model_copy(update=fields),
                                       "targets": targets})
