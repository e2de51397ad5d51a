"""One source of truth: the configuration behind every flag and scenario file, the metric registry
against what runs produce and what targets name, and the Python API against the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lifecircle
from lifecircle.cli import main
from lifecircle.cli_parser import build_parser
from lifecircle.config import RunConfig
from lifecircle.data import sample_path
from lifecircle.metrics import REGISTRY, is_registered, spec, unit_of
from lifecircle.scenarios.spec import Scenario
from lifecircle.seeds.targets import load_targets

REPO = Path(__file__).resolve().parents[1]
# flags of `lifecircle run` that are not options of a run
NOT_RUN_OPTIONS = {"out", "config", "print_config", "func", "command", "help", "version",
                   "debug"}


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory) -> Path:
    """The CLI on the packaged Chengdu sample, once for the module: its output folder."""
    out = tmp_path_factory.mktemp("cli") / "out"
    assert main(["run", "--osm", str(sample_path()), "--residential-density", "400",
                 "--no-figures", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def cli_run(cli_out):
    return json.loads((cli_out / "scorecard.json").read_text(encoding="utf-8"))


def test_timings_cover_the_study_the_stages_and_each_output(cli_out):
    timings = json.loads((cli_out / "timings.json").read_text(encoding="utf-8"))
    laps = ["study", "distances", "coverage_metrics", "targets", "stages", "tables"]
    beside = ["catchments", "parks", "circles"]  # each one's own seconds, within "stages"
    writers = ["write_layers", "write_map", "write_report"]  # --no-figures: no write_figures
    assert set(timings) == {*laps, *beside, *writers, "writing"}
    assert all(seconds >= 0 for seconds in timings.values())
    assert timings["writing"] >= sum(timings[w] for w in writers)
    # side by side in two processes, or one after the other: never longer than the three
    assert timings["stages"] >= max(timings[s] for s in beside)


def test_no_figures_draws_none_and_the_report_says_where_the_maps_are(cli_out):
    """--no-figures: no PNG is drawn, not even for the report, which points to map.html."""
    assert not (cli_out / "figures").exists()
    assert not (cli_out / "report.pdf").exists()
    report = (cli_out / "report.html").read_text(encoding="utf-8")
    assert "<img" not in report
    assert "本次运行未绘制静态图件（--no-figures）" in report and "map.html" in report
    assert (cli_out / "map.html").is_file()


@pytest.fixture(scope="module")
def api_run():
    return lifecircle.run(lifecircle.Study.from_osm(sample_path(), residential_density=400))


def test_every_metric_a_chengdu_run_emits_is_registered(api_run, cli_run):
    for metric_id, record in api_run.records.items():
        assert is_registered(metric_id), metric_id
        assert record.unit == spec(metric_id).unit
    for metric_id, entry in cli_run["metrics"].items():
        assert entry["unit"] == unit_of(metric_id), metric_id


def test_every_target_names_a_registered_metric_or_says_why_none_can():
    for target in load_targets():
        if target.metric is None:
            assert target.unmeasurable_reason, target.id
        else:
            assert is_registered(target.metric), target.id
            assert unit_of(target.metric) == target.unit, target.id


def test_every_registry_pattern_is_produced_by_some_run(api_run):
    produced = set(api_run.records)
    for entry in REGISTRY:
        assert any(entry.matches(m) is not None for m in produced), entry.pattern


def test_api_gives_exactly_the_cli_figures(api_run, cli_run):
    assert set(api_run.records) == set(cli_run["metrics"])
    for metric_id, record in api_run.records.items():
        cli_value = cli_run["metrics"][metric_id]["value"]
        if record.value is None:
            assert cli_value is None, metric_id
        else:  # the scorecard rounds to 10 decimals
            assert cli_value == pytest.approx(record.value, abs=1e-9), metric_id
    frame = api_run.metrics
    assert list(frame.columns) == ["value", "unit", "label", "method", "denominator", "status"]
    assert frame.loc["walk_coverage.primary_school", "label"] == "小学步行覆盖率"
    assert len(api_run.cells) == cli_run["population"]["cells"]


def test_run_flags_are_the_config_fields():
    parsed = vars(build_parser().parse_args(["run", "--out", "x"]))
    assert set(parsed) - NOT_RUN_OPTIONS == set(RunConfig.model_fields)


def test_a_scenario_file_can_set_every_option_of_a_run():
    assert set(RunConfig.model_fields) <= set(Scenario.model_fields)


def test_print_config_round_trips_through_config(tmp_path, capsys):
    argv = ["run", "--osm", str(sample_path()), "--residential-density", "400",
            "--kinds", "park", "primary_school", "--threshold", "park=600",
            "--max-snap", "250", "--region", "四川", "--lang", "en", "--no-figures",
            "--out", str(tmp_path / "o"), "--print-config"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    (tmp_path / "c.yaml").write_text(printed, encoding="utf-8")
    assert main(["run", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o"),
                 "--print-config"]) == 0
    assert capsys.readouterr().out == printed
    config = RunConfig.from_file(tmp_path / "c.yaml")
    assert config.thresholds_m == {"park": 600.0} and config.figures is False
    assert config.kinds == ["park", "primary_school"] and config.max_snap_m == 250
    assert not (tmp_path / "o").exists()


def test_flags_override_the_config_file(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("residential_density: 300\nlang: en\n", encoding="utf-8")
    assert main(["run", "--config", str(tmp_path / "c.yaml"), "--residential-density", "500",
                 "--out", str(tmp_path / "o"), "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert "residential_density: 500.0" in printed and "lang: en" in printed


@pytest.mark.bad_input
def test_a_bad_config_file_names_file_line_and_field(tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("osm: a.pbf\nmax_snap_m: -3\n", encoding="utf-8")
    assert main(["run", "--config", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "c.yaml:2: max_snap_m" in err


def test_the_cli_is_a_thin_adapter_and_modules_stay_small():
    assert len((REPO / "lifecircle" / "cli.py").read_text(encoding="utf-8").splitlines()) < 250
    for path in (REPO / "lifecircle").rglob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 600, f"{path.relative_to(REPO)} has {lines} lines"


def test_the_notebook_example_runs(tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "examples" / "notebook.py")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "primary-school walk coverage" in done.stdout
    assert "park_service_radius_coverage" in done.stdout
