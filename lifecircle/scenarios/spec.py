"""Scenario files: a run's configuration (every option of ``lifecircle run``) plus what-if
interventions (YAML).

Validated by pydantic; an error names the file, the line and the field.

Example::

    name: 三所新小学
    osm: chengdu_central.osm.pbf     # relative to this file
    residential_density: 400
    region: 四川
    interventions:
      - add: {kind: primary_school, name: 新建小学1, lon: 104.07, lat: 30.68, capacity: 1080}
      - close: {kind: hospital, name: 某医院}
      - grow: {polygon: [[104.07, 30.67], [104.08, 30.67], [104.08, 30.68]], people: 5000}
      - gate: {compound: 锦绣花园, lon: 104.071, lat: 30.672}   # needs compounds: FILE
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lifecircle.config import RunConfig, load_mapping, read_text
from lifecircle.seeds import kind_names


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Add(_Strict):
    """A new facility at a WGS84 point."""

    kind: str
    name: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    capacity: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    size_m2: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _check_kind(value)

    @model_validator(mode="after")
    def _park_size(self) -> Add:
        # a park's area sets its service radius (GB/T 50563-2010 tiers): a point has none
        if self.kind == "park" and self.size_m2 is None:
            raise ValueError("a new park needs size_m2 (its area sets its service radius)")
        return self


class Close(_Strict):
    """Facilities to close: by id, by name, or every facility of a kind (the fields given must
    all match)."""

    id: str | None = None
    name: str | None = None
    kind: str | None = None

    @model_validator(mode="after")
    def _something(self) -> Close:
        if self.id is None and self.name is None and self.kind is None:
            raise ValueError("close needs an id, a name or a kind")
        if self.kind is not None:
            _check_kind(self.kind)
        return self


class Grow(_Strict):
    """New residents spread evenly over a WGS84 polygon (ring of [lon, lat] pairs)."""

    polygon: list[tuple[float, float]] = Field(min_length=3)
    people: float = Field(gt=0, allow_inf_nan=False)


class Gate(_Strict):
    """A new gate in a gated compound's wall, at the wall point nearest a WGS84 point.

    ``compound`` is the compound's ``id`` or ``name`` in the compounds file (else its row
    number, from 0)."""

    compound: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)

    @field_validator("compound", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


class Intervention(_Strict):
    """Exactly one of add, close, grow, gate."""

    add: Add | None = None
    close: Close | None = None
    grow: Grow | None = None
    gate: Gate | None = None

    @model_validator(mode="after")
    def _one(self) -> Intervention:
        if sum(x is not None for x in (self.add, self.close, self.grow, self.gate)) != 1:
            raise ValueError("each intervention is exactly one of add, close, grow, gate")
        return self


class Scenario(RunConfig):
    """A scenario file: every option of a run (:class:`~lifecircle.config.RunConfig`), plus a
    name and the interventions."""

    name: str
    description: str | None = None
    interventions: list[Intervention] = []

    def run_config(self) -> RunConfig:
        """The run's configuration without the scenario's own fields."""
        return RunConfig.model_validate(self.model_dump(
            exclude={"name", "description", "interventions"}))


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
    return load_mapping(Scenario, read_text(path), str(path), path.parent)
