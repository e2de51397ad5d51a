"""The planner's workbench: the JSON API against ``lifecircle scenario`` (run_scenario), the
export round trip, refusals, session isolation and one browser edit."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

starlette = pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from lifecircle.app.server import Workbench, create_app  # noqa: E402
from lifecircle.scenarios.compare import run_scenario  # noqa: E402
from lifecircle.scenarios.spec import load_scenario  # noqa: E402

EXAMPLE = Path(__file__).parent.parent / "examples" / "chengdu-three-primary-schools.yaml"


@pytest.fixture(scope="module")
def bench() -> Workbench:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Workbench.from_config(load_scenario(EXAMPLE).run_config())


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """``lifecircle scenario`` on the example file: baseline and scenario values by metric."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_scenario(EXAMPLE, tmp_path_factory.mktemp("ref") / "out")


@pytest.fixture()
def client(bench) -> TestClient:
    return TestClient(create_app(bench))


def _items() -> list[dict]:
    return [i.model_dump(exclude_none=True) for i in load_scenario(EXAMPLE).interventions]


def assert_equal_metrics(app_metrics: dict, comparison: dict, side: str) -> None:
    expected = {m["metric"]: m[side] for m in comparison["metrics"] if m[side] is not None}
    got = {mid: m["value"] for mid, m in app_metrics.items() if m["value"] is not None}
    assert set(got) == set(expected)
    for mid, value in expected.items():
        assert got[mid] == pytest.approx(value, abs=1e-9, rel=0), mid


def test_baseline_is_the_scorecard_shape(client, bench, reference):
    answer = client.get("/api/baseline").json()
    assert set(answer) == {"metrics", "targets"}
    card = bench.baseline.scorecard()
    assert set(answer["metrics"]) == set(card["metrics"])
    assert [t["id"] for t in answer["targets"]] == [t["id"] for t in card["targets"]]
    assert answer["metrics"]["walk_coverage.primary_school"]["unit"] == "share"
    assert_equal_metrics(answer["metrics"], reference, "baseline")


def test_three_schools_equal_lifecircle_scenario(client, reference):
    items = _items()
    for n in range(1, len(items) + 1):  # one add at a time: the incremental path
        response = client.post("/api/scenario", json={"interventions": items[:n]})
        assert response.status_code == 200, response.text
    answer = response.json()
    assert_equal_metrics(answer["metrics"], reference, "scenario")
    expected = {m["metric"]: m["change"] for m in reference["metrics"]}
    change = answer["changes"]["walk_coverage.primary_school"]
    assert change == pytest.approx(expected["walk_coverage.primary_school"], abs=1e-9)
    assert change > 0
    by_id = {t["id"]: t for t in answer["targets"]}
    for target in reference["targets"]:
        if target["scenario"] is not None:
            assert by_id[target["id"]]["value"] == pytest.approx(target["scenario"], abs=1e-9)


def test_close_and_undo_recompute_the_kind(client, reference):
    items = _items()
    client.post("/api/scenario", json={"interventions": items})
    # undo the last add, then redo it: the general path must give the same figures back
    client.post("/api/scenario", json={"interventions": items[:2]})
    answer = client.post("/api/scenario", json={"interventions": items}).json()
    assert_equal_metrics(answer["metrics"], reference, "scenario")
    # closing the three new schools again is the baseline
    closes = [{"close": {"id": f"scenario/{n}"}} for n in (1, 2, 3)]
    answer = client.post("/api/scenario", json={"interventions": items + closes}).json()
    assert_equal_metrics(answer["metrics"], reference, "baseline")


def test_export_reproduces_the_scenario(client):
    client.post("/api/scenario", json={"interventions": _items()})
    text = client.get("/api/export", params={"name": "三所小学"}).text
    data = yaml.safe_load(text)
    assert data["osm"] == "package:chengdu_central.osm.pbf"
    example = load_scenario(EXAMPLE)
    exported = load_scenario_text(text)
    # the file run_scenario ran on (reference) and the export describe the same run
    assert exported.run_config() == example.run_config()
    assert exported.interventions == example.interventions


def load_scenario_text(text: str):
    from lifecircle.config import load_mapping
    from lifecircle.scenarios.spec import Scenario

    return load_mapping(Scenario, text, "export", Path("."))


@pytest.mark.parametrize(("body", "status", "words"), [
    (b"not json", 400, "not JSON"),
    (b'{"interventions": 3}', 400, "must be a list"),
    (b'{"interventions": [], "path": "/etc/passwd"}', 400, "expected"),
    (b'{"interventions": [{"add": {"kind": "castle", "name": "x", "lon": 1, "lat": 2}}]}',
     422, "unknown kind"),
    (b'{"interventions": [{"add": {"kind": "park", "name": "x", "lon": 500, "lat": 2}}]}',
     422, "lon"),
    (b'{"interventions": [{"close": {"id": "no-such-facility"}}]}', 400, "matches no"),
    (b'{"interventions": [' + b",".join([b'{"close": {"kind": "park"}}'] * 201) + b"]}", 400,
     "at most 200"),
    (b'{"interventions": ["' + b"x" * 70000 + b'"]}', 413, "KiB"),
])
def test_malformed_requests_get_one_line(client, body, status, words):
    response = client.post("/api/scenario", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert words in error and "\n" not in error and "Traceback" not in error


def test_site_refusals(client):
    assert client.post("/api/site", json={"kind": "clinic"}).status_code == 400
    assert client.post("/api/site", json={"kind": "clinic", "add": 500}).status_code == 400
    assert client.get("/static/../../etc/passwd").status_code == 404


def test_sessions_do_not_see_each_other(bench):
    first, second = TestClient(create_app(bench)), TestClient(create_app(bench))
    base = first.get("/api/baseline").json()["metrics"]["walk_coverage.primary_school"]["value"]
    changed = first.post("/api/scenario", json={"interventions": _items()[:1]}).json()
    other = second.post("/api/scenario", json={"interventions": []}).json()
    assert changed["metrics"]["walk_coverage.primary_school"]["value"] > base
    assert other["metrics"]["walk_coverage.primary_school"]["value"] == base
    # the first session still holds its edit
    again = first.post("/api/scenario", json={"interventions": _items()[:1]}).json()
    assert again["metrics"] == changed["metrics"]


def test_sessions_are_bounded(bench):
    from lifecircle.app.state import SessionStore

    store = SessionStore(bench.sessions.baseline, max_sessions=3, ttl_s=1e-6)
    tokens = [store.get(None)[0] for _ in range(5)]
    assert len(store) <= 3
    time.sleep(0.01)
    token, _ = store.get(tokens[-1])  # expired: a new session
    assert token != tokens[-1] and len(store) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(bench):
    """The app on a free port of 127.0.0.1 in a thread, for the browser tests."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(bench), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def page_of(url: str):
    """The workbench page loaded and ready in headless Chromium."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from lifecircle.maps.screenshot import launch_chromium

    with playwright_api.sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=60000)
        try:
            yield page
        finally:
            browser.close()
        assert errors == []


def _scenario_value(exported: str, tmp_path: Path, metric: str) -> float:
    """``lifecircle scenario`` on the exported file: the scenario value of ``metric``."""
    scenario_file = tmp_path / "exported.yaml"
    scenario_file.write_text(exported, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = run_scenario(scenario_file, tmp_path / "out")
    return {m["metric"]: m["scenario"] for m in comparison["metrics"]}[metric]


WAIT_EDIT = ("document.querySelector('#edits li') !== null && "
             "document.querySelector('#status').textContent === '就绪'")


@pytest.mark.browser
def test_browser_click_adds_a_school(bench, tmp_path):
    docs = Path(__file__).parent.parent / "docs"
    with served(bench) as url, page_of(url) as page:
        before = float(page.get_attribute("#coverage-value", "data-value"))
        page.screenshot(path=str(docs / "workbench-before.png"))
        box = page.locator("#map").bounding_box()
        # the first school of the example, a site known to reach people
        point = page.evaluate("workbench.map.latLngToContainerPoint([30.71832, 104.07569])")
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        page.wait_for_function(
            f"document.querySelector('#coverage-value').dataset.value != '{before!r}' "
            "&& document.querySelector('#edits li') !== null", timeout=30000)
        page.wait_for_timeout(300)
        after = float(page.get_attribute("#coverage-value", "data-value"))
        page.screenshot(path=str(docs / "workbench-after.png"))
        exported = page.evaluate("fetch('/api/export').then((r) => r.text())")
    data = yaml.safe_load(exported)
    assert [i["add"]["kind"] for i in data["interventions"]] == ["primary_school"]
    expected = _scenario_value(exported, tmp_path, "walk_coverage.primary_school")
    assert after == pytest.approx(expected, abs=1e-9, rel=0)
    assert after != before


@pytest.mark.browser
def test_browser_drag_moves_a_school_in_one_undoable_edit(bench, tmp_path):
    """Drag a school 120 px east: one history step (close + add at the new point), the panel
    equals ``lifecircle scenario`` on the export; undo brings the baseline back. The page also
    draws the catchments, service circles and the offline basemap."""
    with served(bench) as url, page_of(url) as page:
        drawn = page.evaluate("""() => {
            const count = (group) => { let n = 0; group.eachLayer(function walk(l) {
                if (l instanceof L.LayerGroup) l.eachLayer(walk); else n += 1; }); return n; };
            const base = {};
            for (const [k, g] of Object.entries(workbench.base)) base[k] = count(g);
            return {catchments: count(workbench.layers.catchments),
                    circles: count(workbench.layers.circles),
                    facilities: count(workbench.layers.facilities), base};
        }""")
        before = float(page.get_attribute("#coverage-value", "data-value"))
        school = page.evaluate("""() => {
            const m = workbench.layers.facilities.getLayers()
                .find((l) => l.facility.source !== 'scenario');
            const p = workbench.map.latLngToContainerPoint(m.getLatLng());
            return {id: m.facility.id, name: m.facility.name, x: p.x, y: p.y};
        }""")
        box = page.locator("#map").bounding_box()
        x, y = box["x"] + school["x"], box["y"] + school["y"]
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(1, 13):
            page.mouse.move(x + 10 * step, y, steps=2)
        page.mouse.up()
        page.wait_for_function(WAIT_EDIT, timeout=30000)
        moved = float(page.get_attribute("#coverage-value", "data-value"))
        edits = page.locator("#edits li").all_inner_texts()
        exported = page.evaluate("fetch('/api/export').then((r) => r.text())")
        page.click("#undo")
        page.wait_for_function("document.querySelector('#edits li') === null && "
                               "document.querySelector('#status').textContent === '就绪'",
                               timeout=30000)
        undone = float(page.get_attribute("#coverage-value", "data-value"))
    layers = {k: v for k, v in drawn.items() if k != "base"}
    assert layers["catchments"] > 0 and layers["circles"] > 0 and layers["facilities"] > 0
    assert {"streets", "water", "labels"} <= set(drawn["base"])
    assert min(drawn["base"].values()) > 0
    items = yaml.safe_load(exported)["interventions"]
    assert items[0] == {"close": {"id": school["id"]}}
    assert [set(i) for i in items] == [{"close"}, {"add"}]
    assert items[1]["add"]["kind"] == "primary_school"
    assert len(edits) == 1 and "移动" in edits[0]
    assert moved == pytest.approx(_scenario_value(exported, tmp_path,
                                                  "walk_coverage.primary_school"),
                                  abs=1e-9, rel=0)
    assert undone == before


def test_view_draws_the_runs_catchments_and_circles(client, bench):
    """The page's catchments are those of the run and its service circles those of `lifecircle
    circles` (same facilities; circles of the same area to 1 %: drawn simplified at 1 m, as
    map.html draws them, which trims the street strips' jagged edges by 0.2-0.7 %)."""
    view = client.get("/api/view", params={"kind": "primary_school"}).json()
    run_catchments = bench.baseline.layers["catchments"]
    of_kind = run_catchments[run_catchments["kind"] == "primary_school"]
    assert {f["properties"]["id"] for f in view["catchments"]["features"]} == set(of_kind["fid"])
    import geopandas as gpd
    from shapely.geometry import shape

    from lifecircle.pipeline.tools import kind_circles

    baseline = bench.baseline  # its circles as `lifecircle circles` draws them
    threshold = baseline.access["primary_school"].threshold_m
    circles = kind_circles(baseline.study, baseline.config, "primary_school",
                           [threshold]).layers["service_circles"].set_index("facility_id")
    drawn = gpd.GeoSeries([shape(f["geometry"]) for f in view["circles"]["features"]],
                          index=[f["properties"]["id"] for f in view["circles"]["features"]],
                          crs="EPSG:4326").to_crs(circles.crs)
    assert set(drawn.index) == set(circles.index)
    areas = circles.geometry.area.loc[drawn.index]
    assert drawn.area.to_numpy() == pytest.approx(areas.to_numpy(), rel=1e-2)
    overlap = drawn.intersection(circles.geometry.loc[drawn.index]).area
    assert (overlap / areas).min() > 0.99


def test_basemap_is_served_from_the_osm_file(client):
    data = client.get("/api/basemap").json()
    assert data["streets"]["major"]["features"]
    assert data["water_areas"]["features"]
    assert any(label[3] == "street" for label in data["labels_zh"])


PARKS = [{"add": {"kind": "park", "name": "新公园 1", "lon": 104.07569, "lat": 30.71832,
                  "size_m2": 20000}},
         {"add": {"kind": "park", "name": "新公园 2", "lon": 104.10, "lat": 30.68,
                  "size_m2": 3000}},
         {"add": {"kind": "park", "name": "新公园 3", "lon": 104.06, "lat": 30.69,
                  "size_m2": 60000}}]


def test_park_adds_are_incremental_and_equal_a_full_run(bench, monkeypatch):
    """Three parks added one by one take the incremental path (the full park figures are never
    measured) and every metric, park details included, equals a full run to 1e-9."""
    from lifecircle.app import incremental
    from lifecircle.pipeline.run import run
    from lifecircle.scenarios.apply import apply_interventions
    from lifecircle.scenarios.spec import Intervention

    items = [Intervention.model_validate(i) for i in PARKS]
    engine = bench.engine

    def refuse(*args, **kwargs):
        raise AssertionError("the park figures were measured in full")

    with monkeypatch.context() as patched:
        patched.setattr(incremental, "park_figures", refuse)
        state = bench.sessions.baseline
        for n in range(1, len(items) + 1):
            state = state.update(engine, engine.study, items[:n])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = run(apply_interventions(engine.study, items, source="workbench"), engine.config)
    assert set(state.records) == set(full.records)
    for mid, record in full.records.items():
        got = state.records[mid]
        if record.value is None:
            assert got.value is None, mid
        else:
            assert got.value == pytest.approx(record.value, abs=1e-9, rel=0), mid
        if mid.startswith("park_"):
            assert got.method == record.method, mid
            for key, value in record.details.items():
                if isinstance(value, float):
                    assert got.details[key] == pytest.approx(value, abs=1e-9, rel=0), (mid, key)
                else:
                    assert got.details[key] == value, (mid, key)
    base = bench.baseline.records["park_service_radius_coverage"].value
    assert state.records["park_service_radius_coverage"].value > base
    # closing one of them re-measures the park figures in full: again the full run's figures
    closed = state.update(engine, engine.study, [*items, Intervention.model_validate(
        {"close": {"id": "scenario/2"}})])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = run(apply_interventions(engine.study, [items[0], items[2]], source="workbench"),
                   engine.config)
    for mid in ("park_service_radius_coverage", "park_service_radius_coverage_walk",
                "park_service_radius_coverage_population", "park_activity_space_coverage"):
        assert closed.records[mid].value == pytest.approx(full.records[mid].value, abs=1e-9)
