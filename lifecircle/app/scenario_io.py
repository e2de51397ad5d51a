"""Request bodies of the workbench API (validated by the scenario schema) and the scenario YAML
it exports."""

from __future__ import annotations

from typing import Any

import yaml

from lifecircle.config import RunConfig
from lifecircle.scenarios.spec import Intervention
from lifecircle.seeds import kind_names

MAX_INTERVENTIONS = 200
#: Largest number of sites one suggestion asks the solver for (assumption: keeps a request short).
MAX_SITES = 20


class BodyError(ValueError):
    """A request body the API refuses."""


def parse_interventions(body: Any) -> list[Intervention]:
    """``{"interventions": [...]}`` in the scenario file's shape, validated by pydantic.

    Raises
    ------
    BodyError
        Not that shape, or more than ``MAX_INTERVENTIONS`` items.
    pydantic.ValidationError
        An item fails the scenario schema.
    """
    if not isinstance(body, dict) or set(body) - {"interventions"}:
        raise BodyError('expected {"interventions": [...]}')
    items = body.get("interventions", [])
    if not isinstance(items, list):
        raise BodyError("interventions must be a list")
    if len(items) > MAX_INTERVENTIONS:
        raise BodyError(f"at most {MAX_INTERVENTIONS} interventions")
    return [Intervention.model_validate(item) for item in items]


def parse_site(body: Any) -> tuple[str, int | None, float | None]:
    """``{"kind": K, "add": N}`` or ``{"kind": K, "target": SHARE}``."""
    if not isinstance(body, dict) or set(body) - {"kind", "add", "target"}:
        raise BodyError('expected {"kind": ..., "add": N} or {"kind": ..., "target": SHARE}')
    kind = body.get("kind")
    if kind not in kind_names():
        raise BodyError(f"unknown kind {kind!r}")
    add, target = body.get("add"), body.get("target")
    if (add is None) == (target is None):
        raise BodyError("give exactly one of add, target")
    if add is not None and (type(add) is not int or not 1 <= add <= MAX_SITES):
        raise BodyError(f"add is a whole number from 1 to {MAX_SITES}")
    if target is not None and (type(target) not in (int, float) or not 0 < target <= 1):
        raise BodyError("target is a share in (0, 1]; 86 % is 0.86")
    return kind, add, None if target is None else float(target)


def export_yaml(config: RunConfig, items: list[Intervention], name: str) -> str:
    """The scenario file ``lifecircle scenario`` reproduces the session with: the run's options
    (:meth:`RunConfig.portable`: the packaged sample as ``package:FILE``, other inputs by absolute
    path, the server's own files; nothing a client sent), a name and the interventions."""
    data: dict[str, Any] = {"name": name, **config.portable()}
    data["interventions"] = [i.model_dump(mode="json", exclude_none=True) for i in items]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
