"""Baseline against scenario: the change of every metric and every target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lifecircle.layers.study import StudyInputs, load_study
from lifecircle.output import atomic_directory, write_csv, write_json
from lifecircle.scenarios.apply import apply_interventions
from lifecircle.scenarios.run import Progress, RunParams, RunResult, run_study, write_run_files
from lifecircle.scenarios.spec import Scenario, load_scenario


def scenario_inputs(scenario: Scenario) -> tuple[StudyInputs, RunParams]:
    """The study inputs and run parameters a scenario file names."""
    study = scenario.study
    inputs = StudyInputs(
        osm=study.osm, graphml=study.graphml, place=study.place, population=study.population,
        population_total=study.population_total,
        residential_density=study.residential_density, boundary=study.boundary,
        residential=study.residential, facilities=list(study.facilities), coords=study.coords,
        crs=study.crs,
    )
    params = RunParams(thresholds_m=dict(scenario.params.thresholds_m),
                       max_snap_m=scenario.params.max_snap_m, region=scenario.targets.region,
                       target_ids=scenario.targets.ids, targets_file=scenario.targets.file)
    return inputs, params


def compare(baseline: RunResult, scenario: RunResult) -> dict[str, Any]:
    """Metric by metric and target by target: before, after and the change."""
    metrics = []
    for metric_id in sorted(set(baseline.metrics) | set(scenario.metrics)):
        before = baseline.metrics.get(metric_id, {}).get("value")
        after = scenario.metrics.get(metric_id, {}).get("value")
        change = after - before if isinstance(before, int | float) and \
            isinstance(after, int | float) else None
        metrics.append({"metric": metric_id, "baseline": before, "scenario": after,
                        "change": change})
    before_targets = {t["id"]: t for t in baseline.scored_targets()}
    targets = []
    for target in scenario.scored_targets():
        old = before_targets.get(target["id"], {})
        targets.append({"id": target["id"], "metric": target["metric"],
                        "target": target["target"], "baseline": old.get("value"),
                        "scenario": target["value"], "met_baseline": old.get("met"),
                        "met_scenario": target["met"], "gap_baseline": old.get("gap"),
                        "gap_scenario": target["gap"], "source": target["source"]})
    return {"metrics": metrics, "targets": targets}


def run_scenario(path: str | Path, out: str | Path,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Run a scenario file: ``out/baseline``, ``out/scenario`` and ``out/comparison.*``."""
    scenario = load_scenario(path)
    inputs, params = scenario_inputs(scenario)
    base_study = load_study(inputs)
    changed_study = apply_interventions(base_study, scenario.interventions, source=str(path))
    baseline = run_study(base_study, params, progress)
    changed = run_study(changed_study, params, progress)
    comparison = compare(baseline, changed) | {"scenario": scenario.name,
                                               "description": scenario.description}
    with atomic_directory(out) as staging:
        write_run_files(baseline, staging / "baseline")
        write_run_files(changed, staging / "scenario")
        write_json(staging / "comparison.json", comparison)
        write_csv(staging / "comparison.csv", pd.DataFrame(comparison["metrics"]))
    return comparison
