"""Scenario files: validation with file/line/field errors, and what interventions do."""

from __future__ import annotations

import json

import pytest

from lifecircle.cli import main
from lifecircle.errors import InputError
from lifecircle.layers.study import load_study
from lifecircle.pipeline import run
from lifecircle.scenarios.apply import apply_interventions
from lifecircle.scenarios.spec import load_scenario
from tests.osm_fixture import LAT0, LON0, write_small_osm


def _scenario(tmp_path, interventions: str = "[]", extra: str = "") -> object:
    write_small_osm(tmp_path / "area.osm")
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: test\n"
        "# the options of a run (RunConfig), then the interventions\n"
        "osm: area.osm\n"
        "residential_density: 100\n"
        f"{extra}"
        f"interventions: {interventions}\n",
        encoding="utf-8",
    )
    return path


def _run(path):
    scenario = load_scenario(path)
    config = scenario.run_config()
    base = load_study(config)
    changed = apply_interventions(base, scenario.interventions)
    return run(base, config), run(changed, config)


def test_no_interventions_reproduces_the_baseline(tmp_path):
    base, same = _run(_scenario(tmp_path))
    assert base.scorecard() == same.scorecard()


def test_adding_a_school_never_lowers_coverage(tmp_path):
    add = (f"[{{add: {{kind: primary_school, name: 新校, lon: {LON0 + 0.0055}, "
           f"lat: {LAT0 + 0.0050}}}}}]")
    base, more = _run(_scenario(tmp_path, add))
    before = base.value("walk_coverage.primary_school")
    after = more.value("walk_coverage.primary_school")
    assert after > before
    assert more.value("facility_count.primary_school") == 2


def test_closing_a_facility_never_raises_coverage(tmp_path):
    base, fewer = _run(_scenario(tmp_path, "[{close: {name: 测试小学}}]"))
    # the only primary school closed: a measured zero (and its change), not a missing layer
    assert fewer.value("walk_coverage.primary_school") == 0.0
    assert base.value("walk_coverage.primary_school") >= 0.0


def test_growing_population_adds_people(tmp_path):
    ring = (f"[[{LON0 + 0.001}, {LAT0 + 0.001}], [{LON0 + 0.003}, {LAT0 + 0.001}], "
            f"[{LON0 + 0.003}, {LAT0 + 0.003}], [{LON0 + 0.001}, {LAT0 + 0.003}]]")
    base, grown = _run(_scenario(tmp_path, f"[{{grow: {{polygon: {ring}, people: 2500}}}}]"))
    assert grown.study.population.total == pytest.approx(base.study.population.total + 2500)


@pytest.mark.parametrize(
    ("interventions", "line", "field"),
    [
        ("\n  - add: {kind: casino, name: x, lon: 104.06, lat: 30.66}", 6, "kind"),
        ("\n  - add: {kind: clinic, name: x, lon: 204.06, lat: 30.66}", 6, "lon"),
        ("\n  - close: {}", 6, "close"),
        ("\n  - add: {kind: clinic, name: x, lon: 104.0, lat: 30.6}\n    grow: {people: 5}", 7,
         "interventions.0.grow.polygon"),
    ],
)
def test_invalid_scenario_names_file_line_field(tmp_path, interventions, line, field):
    path = _scenario(tmp_path, interventions)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ")
    assert field in message


def test_unknown_field_and_bad_yaml(tmp_path):
    path = _scenario(tmp_path, extra="colour: red\n")
    with pytest.raises(InputError, match=r"s.yaml:\d+: colour: Extra inputs"):
        load_scenario(path)
    path.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s.yaml:\d+: not valid YAML"):
        load_scenario(path)


def test_close_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(InputError, match="close matches no facility"):
        _run(_scenario(tmp_path, "[{close: {name: 不存在}}]"))


@pytest.mark.bad_input
def test_scenario_cli_bad_file(tmp_path, capsys):
    path = _scenario(tmp_path, "\n  - add: {kind: casino, name: x, lon: 104.06, lat: 30.66}")
    assert main(["scenario", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "s.yaml:6: interventions.0.add.kind" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_scenario_cli_writes_comparison(tmp_path):
    add = f"[{{add: {{kind: clinic, name: 新站, lon: {LON0}, lat: {LAT0}}}}}]"
    out = tmp_path / "o"
    assert main(["scenario", str(_scenario(tmp_path, add)), "--out", str(out)]) == 0
    comparison = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    row = next(r for r in comparison["metrics"] if r["metric"] == "walk_coverage.clinic")
    assert row["change"] >= 0
    assert (out / "baseline" / "scorecard.json").exists()
    assert (out / "scenario" / "coverage.gpkg").exists()


def test_closing_every_facility_of_a_kind_gives_zero_coverage(tmp_path):
    """Closing a whole kind is a measured zero with its change, never a missing layer."""
    base, closed = _run(_scenario(tmp_path, "[{close: {kind: primary_school}}]"))
    assert base.value("walk_coverage.primary_school") > 0
    assert closed.value("walk_coverage.primary_school") == 0.0
    assert "primary_school" not in closed.missing_kinds
