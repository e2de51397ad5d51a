"""The plans' targets (``targets.yaml``): validation, selection by region or id, and scoring.

A target is one figure of one plan clause: a comparator, a value and a unit, plus the metric id of
the engine that measures it, or ``null`` with the reason geometry cannot measure it. Users may give
their own catalogue in the same form (a mapping with a ``targets`` list).
"""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from rich.markup import escape
from rich.table import Table

from lifecircle.errors import InputError
from lifecircle.metrics import UNITS, is_registered, unit_of
from lifecircle.seeds import parse_yaml

Comparator = Literal[">=", "<=", "==", ">"]

#: The region name under which targets bind every region.
NATIONAL = "全国"

_PACKAGED = "lifecircle/seeds/targets.yaml"
_ADMIN_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "省", "市", "县")


class Target(BaseModel):
    """One quantitative target of one plan clause.

    Field order matters: later validators read earlier fields (metric before unit before value).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    plan: str = Field(min_length=1)
    clause: str = Field(min_length=1)
    region: str = Field(min_length=1)
    within: tuple[str, ...] = ()
    year: int = Field(ge=2020, le=2040)
    indicator: str = Field(min_length=1)
    comparator: Comparator
    metric: str | None = None
    unmeasurable_reason: str | None = Field(default=None, validate_default=True)
    unit: str
    value: float
    tolerance: float = Field(default=0.0, ge=0.0)
    approximate: bool = False
    qualitative: bool = False
    note: str | None = None
    denominator_note: str | None = None

    @field_validator("metric")
    @classmethod
    def _metric_known(cls, metric: str | None) -> str | None:
        if metric is not None and not is_registered(metric):
            raise ValueError(f"unknown metric id {metric!r} (see `lifecircle metrics`)")
        return metric

    @field_validator("unmeasurable_reason")
    @classmethod
    def _reason_iff_unmeasured(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if "metric" not in info.data:
            return reason  # the metric itself failed; that error is reported
        measured = info.data["metric"] is not None
        if not measured and not (reason and reason.strip()):
            raise ValueError("required when metric is null")
        if measured and reason is not None:
            raise ValueError("given for a target that names a metric")
        return reason

    @field_validator("unit")
    @classmethod
    def _unit_known(cls, unit: str, info: ValidationInfo) -> str:
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r} (one of {', '.join(UNITS)})")
        metric = info.data.get("metric")
        if metric is not None and unit_of(metric) != unit:
            raise ValueError(f"metric {metric} is in {unit_of(metric)}, not {unit}")
        return unit

    @field_validator("value")
    @classmethod
    def _value_in_range(cls, value: float, info: ValidationInfo) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if info.data.get("unit") == "share" and not 0.0 <= value <= 1.0:
            raise ValueError(f"a share must lie in 0..1 (86% is 0.86), got {value:g}")
        return value

    @property
    def source(self) -> str:
        """The plan title and the clause, e.g. ``"…实施方案 五、(四)"``."""
        return f"{self.plan} {self.clause}"


class TargetCatalogue(BaseModel):
    """A catalogue file: a mapping whose non-empty ``targets`` list holds unique ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: tuple[Target, ...]

    @field_validator("targets")
    @classmethod
    def _ids_unique(cls, targets: tuple[Target, ...]) -> tuple[Target, ...]:
        if not targets:
            raise ValueError("empty list")
        seen: dict[str, int] = {}
        for i, target in enumerate(targets):
            if target.id in seen:
                raise ValueError(
                    f"{target.id}.id: duplicate id (entries {seen[target.id]} and {i})"
                )
            seen[target.id] = i
        return targets


def _error_line(error: dict[str, Any], raw: Any) -> str:
    """One line naming the entry id and field of a pydantic error."""
    loc = error["loc"]
    message = str(error["msg"]).removeprefix("Value error, ")
    entries = raw.get("targets") if isinstance(raw, dict) else None
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        index = loc[1]
        entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
        name = entry.get("id") if isinstance(entry, dict) else None
        field = ".".join(str(part) for part in loc[2:]) or "entry"
        return f"{name or f'targets[{index}]'}.{field}: {message}"
    if tuple(loc) == ("targets",) and ".id: duplicate id" in message:
        return message
    return f"{'.'.join(str(part) for part in loc) or 'catalogue'}: {message}"


def _parse(text: str, source: str) -> tuple[Target, ...]:
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise InputError(source, f"not valid YAML: {problem}") from None
    if not isinstance(raw, dict) or "targets" not in raw:
        raise InputError(source, "targets: missing (expected a mapping with a 'targets' list)")
    try:
        catalogue = TargetCatalogue.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        line = " ".join(_error_line(errors[0], raw).split())
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(source, line + more) from None
    return catalogue.targets


@lru_cache(maxsize=1)
def _packaged() -> tuple[Target, ...]:
    text = resources.files(__package__).joinpath("targets.yaml").read_text(encoding="utf-8")
    return _parse(text, _PACKAGED)


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read and validate a target catalogue.

    Parameters
    ----------
    path : str, Path or None
        A YAML catalogue in the form of the packaged ``targets.yaml``; None reads the packaged one.

    Returns
    -------
    list of Target
        In file order.

    Raises
    ------
    InputError
        The file is missing or unreadable, not YAML, or an entry is invalid; the one-line message
        names the entry id and field, e.g. ``sichuan_x.value: a share must lie in 0..1 ...``.
    """
    if path is None:
        return list(_packaged())
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    return list(_parse(text, str(path)))


def _region_key(name: str) -> str:
    """NFKC, no spaces, without one trailing administrative suffix (四川省 -> 四川, 渠县 stays)."""
    key = "".join(unicodedata.normalize("NFKC", name).split())
    for suffix in _ADMIN_SUFFIXES:
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            return key[: -len(suffix)]
    return key


def select_targets(
    targets: list[Target],
    region: str | None = None,
    ids: list[str] | None = None,
    *,
    enclosing: bool = True,
    nested: bool = True,
) -> list[Target]:
    """The targets that concern a region and/or carry the given ids, in catalogue order.

    Region matching is forgiving: names are NFKC-normalised, spaces dropped and one trailing
    administrative suffix (省, 市, 县, 自治区, ...) ignored, and the query may be part of the name
    ("四川" matches 四川省; "重庆" matches 重庆市 and 重庆市主城新区). A region selects:

    - targets of the regions it matches, and targets of places ``within`` them
      (``--region 四川`` lists 成都市 and 渠县 targets too);
    - with ``enclosing`` (the default), the targets that bind it from above: those of the regions
      the catalogue lists as enclosing a matched region (渠县 -> 四川省) and every 全国 target,
      which binds all regions;
    - with ``nested`` (the default), the targets of places inside it; a run scoring a study area
      sets it False (a run on Chengdu scores Sichuan's targets, not Qu County's).

    A region the catalogue does not know is an error listing the known ones.

    Parameters
    ----------
    targets : list of Target
        Usually ``load_targets()``.
    region : str or None
        A region name or part of one; None selects every region.
    ids : list of str or None
        Target ids to keep; None keeps all.
    enclosing : bool
        Include targets of enclosing regions and 全国 (see above).

    Returns
    -------
    list of Target

    Raises
    ------
    InputError
        An id in ``ids`` is not in the catalogue, or the region is unknown.
    """
    selected = list(targets)
    if ids is not None:
        known = {t.id for t in targets}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError("targets", f"unknown target id: {', '.join(unknown)}")
        wanted = set(ids)
        selected = [t for t in selected if t.id in wanted]
    if region is None:
        return selected
    query = _region_key(region)
    if not query:
        raise InputError("region", "empty region name")

    def matches(name: str) -> bool:
        return query in _region_key(name)

    if not any(matches(t.region) or any(matches(o) for o in t.within) for t in targets):
        raise InputError(f"--region {region.strip()}",
                         f"unknown region; known: {', '.join(known_regions(targets))}")
    matched = [t for t in targets if matches(t.region)]
    enclosing_keys = {_region_key(NATIONAL)} if enclosing else set()
    if enclosing:
        enclosing_keys |= {_region_key(outer) for t in matched for outer in t.within}
    return [
        t
        for t in selected
        if matches(t.region)
        or (nested and any(matches(outer) for outer in t.within))
        or _region_key(t.region) in enclosing_keys
    ]


def known_regions(targets: list[Target]) -> list[str]:
    """Every region the catalogue names (its targets' regions and the regions enclosing them)."""
    names = [t.region for t in targets] + [o for t in targets for o in t.within]
    return list(dict.fromkeys(names))


def score_target(target: Target, value: float | None) -> dict[str, Any]:
    """Compare a measured value with a target.

    Parameters
    ----------
    target : Target
        The target.
    value : float or None
        The measured value of ``target.metric`` in ``target.unit``; None (or NaN) when the run did
        not produce it. Must be None for a target without a metric.

    Returns
    -------
    dict
        ``id, metric, target, comparator, value, met, gap, unit, source, status, year,
        approximate, qualitative``. ``gap`` is how far the value is from meeting the target, 0 when
        met: target - value for ">=" and ">", value - target for "<=", and
        max(|value - target| - tolerance, 0) for "==". ``status`` is "met", "not met",
        "not measured" (met and gap None) or "catalogued, not measured" (metric null).

    Raises
    ------
    ValueError
        A value was given for a target that names no metric.
    """
    result: dict[str, Any] = {
        "id": target.id,
        "metric": target.metric,
        "target": target.value,
        "comparator": target.comparator,
        "value": None,
        "met": None,
        "gap": None,
        "unit": target.unit,
        "source": target.source,
        "year": target.year,
        "approximate": target.approximate,
        "qualitative": target.qualitative,
    }
    if target.metric is None:
        if value is not None:
            raise ValueError(f"target {target.id} names no metric; it cannot take a value")
        return result | {"status": "catalogued, not measured"}
    if value is None or math.isnan(value):
        return result | {"status": "not measured"}
    value = float(value)
    goal = target.value
    if target.comparator == ">=":
        met, gap = value >= goal, max(goal - value, 0.0)
    elif target.comparator == ">":
        met, gap = value > goal, max(goal - value, 0.0)
    elif target.comparator == "<=":
        met, gap = value <= goal, max(value - goal, 0.0)
    else:
        gap = max(abs(value - goal) - target.tolerance, 0.0)
        met = gap == 0.0
    return result | {
        "value": value,
        "met": met,
        "gap": round(gap, 12),  # drops float noise such as 0.05999999999999994
        "status": "met" if met else "not met",
    }


def _format_figure(target: Target) -> str:
    approx = "≈" if target.approximate else ""
    if target.unit == "share":
        figure = f"{target.value * 100:.10g}%"
    else:
        figure = f"{target.value:,.10g} {target.unit}"
    return f"{target.comparator} {approx}{figure}"


def targets_table(targets: list[Target]) -> Table:
    """A rich table listing targets, for ``lifecircle targets``.

    Parameters
    ----------
    targets : list of Target
        Usually the result of ``select_targets``.

    Returns
    -------
    rich.table.Table
        One row per target: id, region, year, indicator, target, metric (or "not measured" with
        the reason) and source.
    """
    table = Table(title=f"Plan targets ({len(targets)})", show_lines=False)
    table.add_column("id", style="bold", overflow="fold")
    table.add_column("region")
    table.add_column("year", justify="right")
    table.add_column("indicator", overflow="fold")
    table.add_column("target", justify="right")
    table.add_column("metric", overflow="fold")
    table.add_column("source", overflow="fold")
    for t in targets:
        if t.metric:
            metric = escape(t.metric)
        else:
            metric = f"[dim]not measured: {escape(t.unmeasurable_reason or '')}[/dim]"
        if t.qualitative:
            metric += " [yellow](qualitative: see note)[/yellow]"
        table.add_row(
            escape(t.id),
            escape(t.region),
            str(t.year),
            escape(t.indicator),
            escape(_format_figure(t)),
            metric,
            escape(t.source),
        )
    return table
