"""Baseline against scenario: the change of every metric and every target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lifecircle.layers.study import load_study
from lifecircle.metrics import unit_of
from lifecircle.output import atomic_directory, write_csv, write_json
from lifecircle.pipeline import RunResult, run
from lifecircle.pipeline.run import Progress
from lifecircle.scenarios.apply import apply_interventions
from lifecircle.scenarios.spec import load_scenario


def compare(baseline: RunResult, scenario: RunResult) -> dict[str, Any]:
    """Metric by metric and target by target: before, after and the change."""
    metrics = []
    for metric_id in sorted(set(baseline.records) | set(scenario.records)):
        before, after = baseline.value(metric_id), scenario.value(metric_id)
        change = after - before if before is not None and after is not None else None
        metrics.append({"metric": metric_id, "unit": unit_of(metric_id), "baseline": before,
                        "scenario": after, "change": change})
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
    """Run a scenario file: ``out/baseline``, ``out/scenario`` (each with its map) and
    ``out/comparison.*`` (json, csv and, with figures, the bar chart ``comparison.png``)."""
    scenario = load_scenario(path)
    config = scenario.run_config()
    base_study = load_study(config)
    changed_study = apply_interventions(base_study, scenario.interventions, source=str(path))
    baseline = run(base_study, config, progress)
    changed = run(changed_study, config, progress)
    comparison = compare(baseline, changed) | {"scenario": scenario.name,
                                               "description": scenario.description}
    with atomic_directory(out, inputs=config.input_paths()) as staging:
        baseline.write_files(staging / "baseline")
        changed.write_files(staging / "scenario")
        write_json(staging / "comparison.json", comparison)
        write_csv(staging / "comparison.csv", pd.DataFrame(comparison["metrics"]))
        if config.figures:
            from lifecircle.maps.comparison import write_comparison_figure

            write_comparison_figure(staging, lang=config.lang)
    return comparison

