"""The standards' parameters and the plans' targets, shipped as data with the package."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import yaml


@lru_cache(maxsize=1)
def load_standards() -> dict[str, Any]:
    """The parsed ``standards.yaml``: kinds, thresholds, OSM tag mapping, park tiers, network rules.

    Returns
    -------
    dict
        Read-only by convention; callers copy before changing anything.
    """
    text = resources.files(__package__).joinpath("standards.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def kind_names() -> list[str]:
    """Facility kinds in the order of ``standards.yaml``."""
    return list(load_standards()["kinds"])


def threshold_m(kind: str) -> float:
    """Default walking threshold of a kind in metres (parks: the largest tier radius)."""
    spec = load_standards()["kinds"][kind]
    return float(spec["threshold_m"])
