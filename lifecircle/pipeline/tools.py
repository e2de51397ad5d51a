"""Single-purpose runs behind ``lifecircle circles`` and ``lifecircle parks``: one stage of the
pipeline on a loaded study, without the rest of the run."""

from __future__ import annotations

from lifecircle.config import RunConfig
from lifecircle.coverage.engine import node_index
from lifecircle.coverage.walk import kind_access
from lifecircle.errors import InputError
from lifecircle.layers.study import Study
from lifecircle.pipeline.stages import StageOutput, circle_stage, park_stage


def kind_circles(study: Study, config: RunConfig, kind: str, metres: list[float]) -> StageOutput:
    """Service circles of every facility of ``kind`` at each walking distance, and the
    uncovered study area and residential land per distance.

    Raises
    ------
    InputError
        No facility of the kind in the study area.
    """
    if not (study.facilities["kind"] == kind).any():
        raise InputError(f"--kind {kind}", "no facility of this kind in the study area")
    index = node_index(study.network)
    pop, cost = study.population, study.cost
    cells = (index.snap(pop.x, pop.y, config.snap_m()) if cost is None
             else cost.snap(index, pop.x, pop.y, config.snap_m()))
    access = {kind: kind_access(index, study.facilities, cells, kind, max(metres),
                                config.snap_m(), config.cap_m(), cost=cost)}
    return circle_stage(study, index, access, config.snap_m(), {kind: metres},
                        per_facility=True)


def park_figures(study: Study, config: RunConfig) -> StageOutput:
    """The park figures and the per-park table.

    Raises
    ------
    InputError
        No park polygon in the study area.
    """
    stage = park_stage(study, node_index(study.network), config.snap_m())
    if not stage.metrics:
        raise InputError("parks", "no park polygon in the study area")
    return stage
