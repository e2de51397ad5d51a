"""``lifecircle serve DIR``: an output folder of ``lifecircle run`` records its effective
configuration (config.yaml), and the workbench served from it measures the same study; anything
that is not such a folder is one line, exit 2."""

from __future__ import annotations

import json
import warnings

import pytest
import yaml

pytest.importorskip("starlette")

from lifecircle.app import cli as app_cli  # noqa: E402
from lifecircle.app.server import Workbench  # noqa: E402
from lifecircle.cli import main  # noqa: E402
from lifecircle.config import RunConfig  # noqa: E402
from tests.osm_fixture import write_small_osm  # noqa: E402


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    osm = write_small_osm(root / "small.osm")
    out = root / "out"
    assert main(["run", "--osm", str(osm), "--residential-density", "100", "--threshold",
                 "primary_school=400", "--no-figures", "--no-report", "--out", str(out)]) == 0
    return out, osm


def test_run_records_its_effective_config(run_folder):
    out, osm = run_folder
    assert "config.yaml" in json.loads((out / "lifecircle-manifest.json").read_text())["files"]
    data = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert data["osm"] == str(osm.resolve())  # absolute: readable from any folder
    config = app_cli.folder_config(out)
    assert config == RunConfig(osm=osm.resolve(), residential_density=100,
                               thresholds_m={"primary_school": 400}, figures=False,
                               report=False)


def test_served_study_is_the_runs(run_folder):
    """The workbench's baseline from the folder equals the folder's scorecard (1e-9)."""
    out, _ = run_folder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench = Workbench.from_config(app_cli.folder_config(out))
    card = json.loads((out / "scorecard.json").read_text(encoding="utf-8"))["metrics"]
    served = bench.baseline_answer["metrics"]
    assert set(served) == set(card)
    for mid, metric in card.items():
        if isinstance(metric["value"], float):
            assert served[mid]["value"] == pytest.approx(metric["value"], abs=1e-9), mid
        else:
            assert served[mid]["value"] == metric["value"], mid


def test_serve_dir_starts_on_the_folder(run_folder, monkeypatch):
    out, _ = run_folder
    started = {}
    monkeypatch.setattr(app_cli, "serve", lambda config, host, port: started.update(
        config=config, host=host, port=port))
    assert main(["serve", str(out), "--port", "9001"]) == 0
    assert started == {"config": app_cli.folder_config(out), "host": "127.0.0.1", "port": 9001}
    # a flag beside DIR wins, as beside --config
    assert main(["serve", str(out), "--lang", "en"]) == 0
    assert started["config"].lang == "en"


def _old_output(folder):
    folder.mkdir()
    (folder / "scorecard.json").write_text("{}")
    (folder / "lifecircle-manifest.json").write_text(
        json.dumps({"files": ["scorecard.json"], "writer": "lifecircle"}))
    return folder


@pytest.mark.parametrize(("make", "words"), [
    (lambda tmp: tmp / "missing", "no such folder"),
    (lambda tmp: (tmp / "file.txt").write_text("x") and tmp / "file.txt", "not a folder"),
    (lambda tmp: (tmp / "mine").mkdir() or tmp / "mine", "not an output folder"),
    (lambda tmp: _old_output(tmp / "old"), "without config.yaml"),
])
def test_bad_dir_is_one_line_exit_2(tmp_path, capsys, monkeypatch, make, words):
    monkeypatch.setattr(app_cli, "serve", lambda *a: pytest.fail("must not serve"))
    folder = make(tmp_path)
    assert main(["serve", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and err.startswith("lifecircle: error:")


def test_dir_and_config_together_are_refused(run_folder, tmp_path, capsys):
    out, _ = run_folder
    assert main(["serve", str(out), "--config", str(out / "config.yaml")]) == 2
    assert "not both" in capsys.readouterr().err
