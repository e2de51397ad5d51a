"""The workbench on central Chengdu: server time per add and close (in process), the same over
HTTP, and a bounded load test (127.0.0.1 only): every answer checked, p50/p95, the latency of a
light request (the stylesheet) meanwhile, CPU seconds and RSS. The clients run in the server's
process (threads + urllib), so CPU and RSS include them.

Run: python benchmarks/bench_app.py [--requests 2000] [--clients 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import threading
import time
import urllib.request
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lifecircle.app.server import Workbench, create_app
from lifecircle.app.state import ScenarioState
from lifecircle.scenarios.spec import Intervention, load_scenario

EXAMPLE = Path(__file__).parent.parent / "examples" / "chengdu-three-primary-schools.yaml"
#: Parks added in the in-process measurement: lon, lat, m² (sites inside central Chengdu).
PARKS = [(104.07569, 30.71832, 20000.0), (104.10, 30.68, 3000.0), (104.06, 30.69, 60000.0)]


def in_process(bench: Workbench, items: list[Intervention], repeat: int = 5) -> dict:
    """Milliseconds per add (incremental) and per close (the kind remeasured), and per park
    add (its zones join the park figures) and close (the park figures re-measured)."""
    adds, closes = _timed_edits(bench, items, "scenario/1", repeat)
    parks = [Intervention.model_validate({"add": {
        "kind": "park", "name": f"park {n}", "lon": lon, "lat": lat, "size_m2": size}})
        for n, (lon, lat, size) in enumerate(PARKS)]
    park_adds, park_closes = _timed_edits(bench, parks, "scenario/2", 3)
    return {"add_ms_median": statistics.median(adds), "add_ms_max": max(adds),
            "close_ms_median": statistics.median(closes), "close_ms_max": max(closes),
            "park_add_ms_median": statistics.median(park_adds),
            "park_add_ms_max": max(park_adds),
            "park_close_ms_median": statistics.median(park_closes)}


def _timed_edits(bench: Workbench, items: list[Intervention], close_id: str, repeat: int
                 ) -> tuple[list[float], list[float]]:
    """Milliseconds of each add of ``items`` one by one from the baseline, then of closing
    ``close_id``; ``repeat`` times."""
    engine, base = bench.engine, bench.engine.study
    adds, closes = [], []
    close = Intervention.model_validate({"close": {"id": close_id}})
    for _ in range(repeat):
        state: ScenarioState = bench.sessions.baseline
        for n in range(1, len(items) + 1):
            t = time.perf_counter()
            state = state.update(engine, base, items[:n])
            adds.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        state.update(engine, base, [*items, close])
        closes.append(1000 * (time.perf_counter() - t))
    return adds, closes


def _post(port: int, body: dict, token: str | None) -> tuple[dict, str, float]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/scenario", data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **({"x-session": token} if token else {})})
    t = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        data = json.load(response)
        return data, response.headers["x-session"], 1000 * (time.perf_counter() - t)


def load_test(port: int, items: list[dict], expected: list[float], requests: int,
              clients: int) -> dict:
    """Each client cycles add 1, add 2, add 3, back to 0 in its own session; every answer's
    primary-school coverage must equal the single-session value for that step."""
    latencies, errors = [], []
    per_client = requests // clients

    def client(_: int) -> None:
        token = None
        for i in range(per_client):
            step = i % (len(items) + 1)
            try:
                data, token, ms = _post(port, {"interventions": items[:step]}, token)
                value = data["metrics"]["walk_coverage.primary_school"]["value"]
                if abs(value - expected[step]) > 1e-9:
                    errors.append(f"step {step}: {value} != {expected[step]}")
                latencies.append(ms)
            except Exception as exc:  # noqa: BLE001 - every failure counted
                errors.append(repr(exc))

    done = threading.Event()
    probes: list[float] = []

    def probe() -> None:
        """A light request (the page's stylesheet) every 0.2 s while the edits run: how long
        the page waits for the server when other sessions compute."""
        while not done.wait(0.2):
            t = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/app.css",
                                        timeout=60) as response:
                response.read()
            probes.append(1000 * (time.perf_counter() - t))

    started, cpu = time.perf_counter(), time.process_time()
    prober = threading.Thread(target=probe)
    prober.start()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    done.set()
    prober.join()
    wall = time.perf_counter() - started
    latencies.sort()
    probes.sort()
    return {"requests": len(latencies) + len(errors), "errors": len(errors),
            "first_errors": errors[:3], "p50_ms": latencies[len(latencies) // 2],
            "p95_ms": latencies[int(len(latencies) * 0.95)], "wall_s": wall,
            "cpu_s": time.process_time() - cpu,
            "light_request_p50_ms": probes[len(probes) // 2],
            "light_request_p95_ms": probes[int(len(probes) * 0.95)],
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    scenario = load_scenario(EXAMPLE)
    warnings.simplefilter("ignore")
    t = time.perf_counter()
    bench = Workbench.from_config(scenario.run_config())
    print(f"load + baseline: {time.perf_counter() - t:.1f} s")
    print("in process:", json.dumps(in_process(bench, scenario.interventions), indent=1))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(bench), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    items = [i.model_dump(exclude_none=True) for i in scenario.interventions]
    expected, token, http_ms = [], None, []
    for step in range(len(items) + 1):
        data, token, ms = _post(port, {"interventions": items[:step]}, token)
        expected.append(data["metrics"]["walk_coverage.primary_school"]["value"])
        http_ms.append(ms)
    print("end to end over HTTP, one session (ms per step 0..3):", [round(m, 1) for m in http_ms])
    print("load test:", json.dumps(load_test(port, items, expected, args.requests, args.clients),
                                   indent=1))
    server.should_exit = True


if __name__ == "__main__":
    main()
