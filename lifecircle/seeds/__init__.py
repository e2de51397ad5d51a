"""The standards' parameters and the plans' targets, shipped as data with the package."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

#: libyaml's parser when PyYAML was built with it (about 8x faster than the pure-Python one on
#: the seeds, which every run parses)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml when available (same results, same errors).

    Examples
    --------
    >>> parse_yaml("a: [1, 2]")
    {'a': [1, 2]}
    """
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)


@lru_cache(maxsize=1)
def load_standards() -> dict[str, Any]:
    """The parsed ``standards.yaml``: kinds, thresholds, OSM tag mapping, park tiers, network rules.

    Returns
    -------
    dict
        Read-only by convention; callers copy before changing anything.
    """
    text = resources.files(__package__).joinpath("standards.yaml").read_text(encoding="utf-8")
    return parse_yaml(text)


def kind_names() -> list[str]:
    """Facility kinds in the order of ``standards.yaml``."""
    return list(load_standards()["kinds"])


def threshold_m(kind: str) -> float:
    """Default walking threshold of a kind in metres (parks: the largest tier radius)."""
    spec = load_standards()["kinds"][kind]
    return float(spec["threshold_m"])
