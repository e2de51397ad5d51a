"""Atomic outputs: an interrupted run leaves the previous result intact, never a half-written
one; the same inputs give a byte-identical scorecard."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lifecircle.pipeline.result as run_module
from lifecircle.cli import main
from lifecircle.output import atomic_directory
from lifecircle.pipeline import run
from tests.conftest import CHENGDU_PBF
from tests.osm_fixture import write_small_osm


def _first_run(tmp_path):
    osm = write_small_osm(tmp_path / "area.osm")
    out = tmp_path / "out"
    assert main(["run", "--osm", str(osm), "--residential-density", "100", "--out", str(out)]) \
        == 0
    return osm, out, (out / "scorecard.json").read_bytes()


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_mid_write_keeps_the_previous_result(tmp_path, monkeypatch, failure):
    osm, out, before = _first_run(tmp_path)

    def broken_layers(path, layers):
        (path.parent / "half.txt").write_text("half", encoding="utf-8")
        raise failure

    monkeypatch.setattr(run_module, "write_layers", broken_layers)
    with pytest.raises(type(failure)):
        run(_study(osm)).to_folder(out)
    assert (out / "scorecard.json").read_bytes() == before
    assert not (out / "half.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["area.osm", "out"]


def _study(osm):
    from lifecircle.config import RunConfig
    from lifecircle.layers.study import load_study

    return load_study(RunConfig(osm=osm, residential_density=100))


def test_cli_interrupt_exit_code(tmp_path, monkeypatch, capsys):
    osm, out, before = _first_run(tmp_path)

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "write_layers", interrupted)
    assert main(["run", "--osm", str(osm), "--residential-density", "100", "--out",
                 str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert (out / "scorecard.json").read_bytes() == before


@pytest.mark.slow  # three full Chengdu runs, about 30 s
def test_sigint_during_a_real_run_leaves_old_or_new_never_partial(tmp_path):
    """SIGINT at several moments of a real Chengdu run: the folder always holds a whole result."""
    cmd = [sys.executable, "-m", "lifecircle.cli", "run", "--osm", str(CHENGDU_PBF),
           "--residential-density", "400", "--out", str(tmp_path / "out")]
    subprocess.run(cmd, check=True, capture_output=True)
    for delay in (1.0, 2.5):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        assert b"Traceback" not in stderr
        card = json.loads((tmp_path / "out" / "scorecard.json").read_text(encoding="utf-8"))
        assert "walk_coverage.primary_school" in card["metrics"]
        assert (tmp_path / "out" / "coverage.gpkg").exists()
        assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_directory_replaces_whole(tmp_path):
    target = tmp_path / "t"
    with atomic_directory(target) as staging:
        (staging / "a").write_text("1")
    with atomic_directory(target) as staging:
        (staging / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b", "lifecircle-manifest.json"]


@pytest.mark.slow  # two full Chengdu runs, about 28 s
def test_scorecard_is_deterministic_on_chengdu(tmp_path):
    texts = []
    for name in ("a", "b"):
        assert main(["run", "--osm", str(CHENGDU_PBF), "--residential-density", "400",
                     "--out", str(tmp_path / name)]) == 0
        texts.append((tmp_path / name / "scorecard.json").read_bytes())
    assert texts[0] == texts[1]


@pytest.mark.slow
def test_kill_9_leaves_the_previous_output_and_the_next_run_cleans_up(tmp_path):
    """SIGKILL cannot be caught: the staging folder stays behind, the previous output stays
    whole, and the next run on the same folder removes the orphan."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "lifecircle.cli", "run", "--osm", str(CHENGDU_PBF),
           "--residential-density", "400", "--no-figures", "--no-report", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)
    before = (out / "scorecard.json").read_bytes()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob(".out.partial-*")):
        time.sleep(0.05)  # wait until the run has its staging folder
    while time.time() < deadline and not _running_children(proc.pid):
        time.sleep(0.05)  # and its forked map worker, which waits for the layers
    workers = _running_children(proc.pid)
    assert workers, "the run forks its map worker once it has a staging folder"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    # the worker notices that its parent is gone and ends (it is not left waiting forever)
    deadline = time.time() + 20
    while time.time() < deadline and any(_is_running(pid) for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if _is_running(pid)]
    assert (out / "scorecard.json").read_bytes() == before
    assert list(tmp_path.glob(".out.partial-*")), "a killed run leaves its staging folder"
    subprocess.run(cmd, check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert json.loads((out / "scorecard.json").read_text(encoding="utf-8"))["metrics"]


def _running_children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, IndexError, ValueError):
            continue
        if int(ppid) == pid and state not in "ZX":
            children.append(int(stat.parent.name))
    return children


def _is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in "ZX"
