"""The README's cluster recipe, run as written: a `dask scheduler` and two `dask worker`
processes on 127.0.0.1, then `lifecircle batch ... --scheduler tcp://127.0.0.1:PORT`.

Both workers must have run areas, and every area's figures must equal the same areas run in
this process without Dask (``run_area`` called directly) to 1e-9.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from lifecircle.config import RunConfig
from lifecircle.scenarios.batch import HEADLINE, batch_tasks, run_area, safe_name
from tests.conftest import CHENGDU_PBF, REPO

pytest.importorskip("distributed", reason="the cluster recipe needs dask.distributed "
                                          "(pip install 'lifecircle[dask]')")
# a whole Chengdu batch on the cluster plus the four areas again in this process
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
#: seconds allowed for the scheduler to listen, the workers to join, and the batch to finish
START_S, JOIN_S, BATCH_S, STOP_S = 60, 120, 900, 20

# four quadrants of central Chengdu (the extract spans 104.0421-104.1296 E, 30.6528-30.7279 N)
W, S, E, N = 104.0421, 30.6528, 104.1296, 30.7279
MX, MY = (W + E) / 2, (S + N) / 2
QUADRANTS = {
    "西北": shapely.box(W, MY, MX, N), "东北": shapely.box(MX, MY, E, N),
    "西南": shapely.box(W, S, MX, MY), "东南": shapely.box(MX, S, E, MY),
}


def readme_recipe() -> list[list[str]]:
    """The commands of the README's cluster block (under "Running many counties")."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    part = text.split("## Running many counties", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", part, re.S)
    assert block, "the README's batch section has no ```bash cluster recipe"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [cmd for cmd in (shlex.split(line, comments=True) for line in lines) if cmd]


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; the scheduler binds it just after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def substitute(cmd: list[str], values: dict[str, str]) -> list[str]:
    """The recipe's command with its placeholders and example paths replaced, the executable
    taken from this interpreter's environment."""
    out = []
    for token in cmd:
        if token in values:  # whole tokens: the example file names
            token = values[token]
        else:
            for old in ("HEAD", "0.0.0.0", "8786", "CORES"):
                token = token.replace(old, values[old])
        out.append(token)
    return [str(BIN / out[0]), *out[1:]]


def stop(proc: subprocess.Popen) -> None:
    """End a process this test started and its children (its own session): TERM, then KILL."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(STOP_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_S)


@pytest.fixture(scope="module")
def areas_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("areas") / "areas.gpkg"
    gpd.GeoDataFrame({"name": list(QUADRANTS)}, geometry=list(QUADRANTS.values()),
                     crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory, areas_file, request):
    """The recipe run on 127.0.0.1: (batch output folder, addresses of the workers,
    scheduler address); the processes live until the module's tests end."""
    from dask.distributed import Client

    scheduler_cmd, worker_cmd, batch_cmd = readme_recipe()
    assert scheduler_cmd[:2] == ["dask", "scheduler"] and worker_cmd[:2] == ["dask", "worker"]
    assert batch_cmd[:2] == ["lifecircle", "batch"]
    if not (BIN / "dask").exists():
        pytest.skip(f"no dask executable beside {sys.executable}")
    tmp = tmp_path_factory.mktemp("cluster")
    out = tmp / "batch"
    port = free_port()
    values = {"HEAD": "127.0.0.1", "0.0.0.0": "127.0.0.1", "8786": str(port), "CORES": "1",
              "areas.gpkg": str(areas_file), "region.osm.pbf": str(CHENGDU_PBF),
              "/shared/batch": str(out)}
    # worker scratch space and logs stay in the test's folder
    env = os.environ | {"DASK_TEMPORARY_DIRECTORY": str(tmp)}
    procs: list[subprocess.Popen] = []
    request.addfinalizer(lambda: [stop(p) for p in reversed(procs)])

    def start(cmd: list[str], log: str) -> None:
        with open(tmp / log, "wb") as handle:
            procs.append(subprocess.Popen(substitute(cmd, values), stdout=handle,
                                          stderr=subprocess.STDOUT, env=env, cwd=tmp,
                                          start_new_session=True))

    start(scheduler_cmd, "scheduler.log")
    deadline = time.monotonic() + START_S
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert procs[0].poll() is None, (tmp / "scheduler.log").read_text()
        assert time.monotonic() < deadline, "the scheduler did not listen in time"
        time.sleep(0.2)
    for k in range(2):  # two "machines", each running the recipe's worker line
        start(worker_cmd, f"worker{k}.log")
    address = f"tcp://127.0.0.1:{port}"
    with Client(address, timeout=JOIN_S) as client:
        client.wait_for_workers(2, timeout=JOIN_S)
        workers = set(client.scheduler_info()["workers"])
    batch = subprocess.run(substitute(batch_cmd, values), capture_output=True, text=True,
                           env=env, cwd=tmp, timeout=BATCH_S, check=False)
    assert batch.returncode == 0, batch.stderr[-2000:]
    assert f"--scheduler {address}" in shlex.join(substitute(batch_cmd, values))
    return out, workers, address


def test_the_recipe_turns_the_dashboard_off_and_names_the_scheduler():
    scheduler_cmd, worker_cmd, batch_cmd = readme_recipe()
    assert "--no-dashboard" in scheduler_cmd and "--no-dashboard" in worker_cmd
    assert "tcp://HEAD:8786" in worker_cmd
    assert batch_cmd[batch_cmd.index("--scheduler") + 1] == "tcp://HEAD:8786"


def test_both_workers_ran_areas(cluster_run):
    out, workers, _ = cluster_run
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert list(summary["name"]) == list(QUADRANTS)
    assert summary["error"].isna().all()
    assert set(summary["worker"]) == workers and len(workers) == 2
    assert (summary["seconds"] > 0).all()


def test_cluster_figures_equal_the_areas_run_without_dask(cluster_run, areas_file, tmp_path):
    out, _, _ = cluster_run
    config = RunConfig(osm=CHENGDU_PBF, residential_density=400)
    areas, tasks, region_kinds = batch_tasks(areas_file, config)
    assert list(areas["name"]) == list(QUADRANTS)
    local = {task.name: run_area(task, config, tmp_path, region_kinds) for task in tasks}
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig").set_index("name")
    for name, row in local.items():
        assert row["error"] is None and row["worker"] is None
        assert summary.loc[name, "population"] == pytest.approx(row["population"], rel=1e-9)
        for metric_id in HEADLINE:
            a, b = row[metric_id], summary.loc[name, metric_id]
            assert (a is None and math.isnan(b)) or b == pytest.approx(a, abs=1e-9), metric_id
        # every metric of the area's scorecard, not only the headline ones
        here = json.loads((tmp_path / "areas" / safe_name(name) / "scorecard.json")
                          .read_text(encoding="utf-8"))["metrics"]
        there = json.loads((out / "areas" / safe_name(name) / "scorecard.json")
                           .read_text(encoding="utf-8"))["metrics"]
        assert set(here) == set(there)
        for metric_id, metric in here.items():
            if isinstance(metric.get("value"), float):
                assert there[metric_id]["value"] == pytest.approx(metric["value"], abs=1e-9,
                                                                  rel=1e-9), metric_id
            else:
                assert there[metric_id]["value"] == metric["value"], metric_id


def test_two_batches_at_once_on_one_cluster_keep_their_own_areas(cluster_run, tmp_path):
    """Task keys are unique per batch: a second batch never receives the first one's areas."""
    _, _, address = cluster_run
    batches = {"a": {"甲": (104.070, 30.670), "乙": (104.100, 30.670)},
               "b": {"丙": (104.070, 30.700), "丁": (104.100, 30.700)}}
    procs = {}
    try:
        for key, centres in batches.items():
            areas = tmp_path / f"{key}.gpkg"
            gpd.GeoDataFrame({"name": list(centres)},
                             geometry=[shapely.box(x - 0.004, y - 0.004, x + 0.004, y + 0.004)
                                       for x, y in centres.values()],
                             crs="EPSG:4326").to_file(areas)
            with open(tmp_path / f"{key}.log", "wb") as log:  # files: pipes could fill up
                procs[key] = subprocess.Popen(
                    [str(BIN / "lifecircle"), "batch", str(areas), "--osm", str(CHENGDU_PBF),
                     "--residential-density", "400", "--out", str(tmp_path / key),
                     "--scheduler", address], stdout=log, stderr=subprocess.STDOUT)
        for key, proc in procs.items():
            assert proc.wait(BATCH_S) == 0, (tmp_path / f"{key}.log").read_text()[-2000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    found = {key: pd.read_csv(tmp_path / key / "summary.csv", encoding="utf-8-sig")
             for key in batches}
    for key, centres in batches.items():
        assert list(found[key]["name"]) == list(centres)
        assert found[key]["error"].isna().all()
        assert (found[key]["population"] > 0).all()
        assert {p.name for p in (tmp_path / key / "areas").iterdir()} == set(centres)
    assert set(found["a"]["population"]).isdisjoint(found["b"]["population"])
