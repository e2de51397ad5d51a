"""The workbench's web app (Starlette): the page, its static files and the JSON API.

Every API answer is JSON; a malformed request gets a 4xx ``{"error": "one line"}``, an internal
failure a 500 with one line, never a traceback. No path is ever read from a request.

The computing handlers (an edit, a suggestion, the per-cell view) run in worker threads
(:func:`anyio.to_thread.run_sync`, at most :data:`COMPUTE_THREADS` at once), so the event loop
keeps answering the page, its static files and other sessions while one edit computes. The shared
engine is only read there: an edit builds a new :class:`~lifecircle.app.state.ScenarioState`, and
one session's requests run in order under its own lock.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import warnings
from importlib import resources
from typing import Any

import anyio
import numpy as np
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lifecircle.app.incremental import Engine
from lifecircle.app.scenario_io import BodyError, export_yaml, parse_interventions, parse_site
from lifecircle.app.state import ScenarioState, Session, SessionStore
from lifecircle.app.views import (
    CircleCache,
    basemap_view,
    catchments_view,
    facilities_view,
    layers_view,
)
from lifecircle.config import RunConfig
from lifecircle.coverage.catchments import CATCHMENT_KINDS
from lifecircle.coverage.engine import node_index
from lifecircle.errors import LifecircleError
from lifecircle.layers.study import Study, load_study
from lifecircle.metrics import label
from lifecircle.output import _clean
from lifecircle.pipeline.run import run
from lifecircle.pipeline.stages import park_figures
from lifecircle.seeds.demand import demand_region, demand_settings, guess_population_basis

COOKIE = "lifecircle_session"
HEADER = "x-session"
#: Largest request body read (assumption: 200 interventions fit in far less).
MAX_BODY_BYTES = 64 * 1024
#: Edits computed at once (assumption: one per core; more threads only contend for the GIL).
COMPUTE_THREADS = max(2, os.cpu_count() or 2)

log = logging.getLogger("lifecircle.app")


class ClientError(Exception):
    """A request the API refuses (status and one line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Workbench:
    """The loaded study, its baseline and the sessions: everything the routes share."""

    def __init__(self, study: Study, config: RunConfig) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            baseline = run(study, config)
        index = node_index(study.network)
        pop = study.population
        cost = study.cost  # slopes and gated compounds, as the run walks
        cells = (index.snap(pop.x, pop.y, config.snap_m()) if cost is None
                 else cost.snap(index, pop.x, pop.y, config.snap_m()))
        self.engine = Engine(study=study, config=config, index=index, cells=cells, cost=cost,
                             settings=demand_settings(
                                 population_basis=guess_population_basis(pop.source),
                                 region=demand_region(baseline.regions)),
                             regions=baseline.regions)
        self.baseline = baseline
        self.targets = baseline.target_list
        start = ScenarioState.baseline(baseline)
        # the baseline's park coverages, which a park add extends (the run keeps only metrics)
        start.parks = park_figures(study, index, config.snap_m())
        for kind in CATCHMENT_KINDS:  # shared by every session's first edit of the kind
            if kind in start.access and kind not in study.absent_kinds:
                start.pairs[kind] = self.engine.pairs(study, kind)
        self.sessions = SessionStore(start)
        self.layers = layers_view(study, config)
        self.layers["labels"] = {mid: {lang: label(mid, lang) for lang in ("zh", "en")}
                                 for mid in baseline.records}
        self.baseline_answer = self.answer(start)
        self.circles = CircleCache(study, index, config.snap_m())
        # the basemap never changes: encoded once (about 1 MB on central Chengdu)
        self.basemap_json = json.dumps(_clean(basemap_view(config, study)),
                                       ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_config(cls, config: RunConfig) -> Workbench:
        """Load the study once and measure its baseline."""
        return cls(load_study(config), config)

    def answer(self, state: ScenarioState) -> dict[str, Any]:
        """``metrics`` and ``targets`` in the scorecard's shape, plus ``changes`` per metric
        against the baseline (None where either side is not measured)."""
        result = state.result(self.engine, self.targets)
        metrics = {mid: m.as_dict() for mid, m in result.records.items()}
        changes = {}
        for mid in sorted(set(metrics) | set(self.baseline.records)):
            before, after = self.baseline.value(mid), result.value(mid)
            changes[mid] = (after - before if isinstance(before, int | float)
                            and isinstance(after, int | float) else None)
        return {"metrics": metrics, "targets": result.scored_targets(), "changes": changes,
                "interventions": [i.model_dump(exclude_none=True) for i in state.interventions]}


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(_clean(data), status_code=status)


def _session(request: Request):
    bench: Workbench = request.app.state.bench
    token = request.headers.get(HEADER) or request.cookies.get(COOKIE)
    return bench.sessions.get(token)


def _with_session(token: str, response: Response) -> Response:
    response.headers[HEADER] = token
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


async def _body(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ClientError(413, f"request body over {MAX_BODY_BYTES // 1024} KiB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ClientError(413, f"request body over {MAX_BODY_BYTES // 1024} KiB")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ClientError(400, "request body is not JSON (UTF-8)") from None


async def baseline(request: Request) -> Response:
    answer = request.app.state.bench.baseline_answer  # measured once, when the server starts
    return _json({"metrics": answer["metrics"], "targets": answer["targets"]})


async def scenario(request: Request) -> Response:
    items = parse_interventions(await _body(request))
    bench: Workbench = request.app.state.bench
    token, session = _session(request)
    answer = await _compute(request, _edit, bench, session, items)
    return _with_session(token, _json(answer))


def _edit(bench: Workbench, session: Session, items: list) -> dict[str, Any]:
    """Apply a session's interventions and answer (in a worker thread, under its lock)."""
    with session.lock:
        try:
            session.state = session.state.update(bench.engine, bench.engine.study, items)
        except LifecircleError as exc:
            raise ClientError(400, str(exc)) from None
        return bench.answer(session.state)


async def _compute(request: Request, func, *args: Any) -> Any:
    """``func(*args)`` in a worker thread, at most the app's ``COMPUTE_THREADS`` at once."""
    limiter = request.app.state.compute_limiter
    return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=limiter)


async def view(request: Request) -> Response:
    """Per-cell distance to the chosen kind and the session's facilities."""
    bench: Workbench = request.app.state.bench
    kind = request.query_params.get("kind", "")
    token, session = _session(request)
    payload = await _compute(request, _view, bench, session.state, kind)
    return _with_session(token, _json(payload))


def _view(bench: Workbench, state: ScenarioState, kind: str) -> dict[str, Any]:
    access = state.access.get(kind)
    distances = access.nearest.distance_m if access is not None else None
    threshold = bench.engine.config.threshold(kind) if kind in bench.layers["kinds"] else None
    of_kind = state.study.facilities[state.study.facilities["kind"] == kind]
    return {"kind": kind, "threshold_m": threshold,
            "distances": None if distances is None else
            np.where(np.isfinite(distances), np.round(distances, 1), -1).tolist(),
            "facilities": facilities_view(state.study),
            "catchments": None if access is None else catchments_view(state.study, access),
            "circles": None if threshold is None or of_kind.empty else
            bench.circles.view(of_kind, threshold)}


async def site_route(request: Request) -> Response:
    from lifecircle.scenarios.site import site

    kind, add, target = parse_site(await _body(request))
    bench: Workbench = request.app.state.bench
    token, session = _session(request)
    study = session.state.study

    def suggest() -> dict[str, Any]:
        try:
            return site(study, bench.engine.config, kind, target_share=target,
                        add=add).as_dict()
        except LifecircleError as exc:
            raise ClientError(400, str(exc)) from None

    return _with_session(token, _json(await _compute(request, suggest)))


async def export(request: Request) -> Response:
    bench: Workbench = request.app.state.bench
    token, session = _session(request)
    name = request.query_params.get("name", "workbench scenario")[:200]
    text = export_yaml(bench.engine.config, session.state.interventions, name)
    response = Response(text, media_type="application/x-yaml; charset=utf-8", headers={
        "content-disposition": 'attachment; filename="scenario.yaml"'})
    return _with_session(token, response)


async def layers(request: Request) -> Response:
    return _json(request.app.state.bench.layers)


async def basemap(request: Request) -> Response:
    return Response(request.app.state.bench.basemap_json,
                    media_type="application/json; charset=utf-8")


async def page(request: Request) -> Response:
    lang = "en" if request.query_params.get("lang") == "en" else "zh"
    html = _static("index.html").decode("utf-8").replace("{{LANG}}", lang)
    return Response(html, media_type="text/html; charset=utf-8")


_TYPES = {".js": "text/javascript", ".css": "text/css"}


async def static(request: Request) -> Response:
    from lifecircle.maps.assets import leaflet_css, leaflet_js

    name = request.path_params["name"]
    served = {"leaflet.js": leaflet_js, "leaflet.css": leaflet_css}
    if name in served:
        text = served[name]()
    elif name in ("app.js", "app.css"):  # a fixed list: no client-chosen path is opened
        text = _static(name).decode("utf-8")
    else:
        raise ClientError(404, "no such file")
    suffix = name[name.rindex("."):]
    return Response(text, media_type=f"{_TYPES[suffix]}; charset=utf-8")


def _static(name: str) -> bytes:
    return resources.files("lifecircle.app").joinpath("static", name).read_bytes()


async def _client_error(request: Request, exc: ClientError) -> Response:
    return _json({"error": str(exc)}, exc.status)


async def _body_error(request: Request, exc: BodyError) -> Response:
    return _json({"error": str(exc)}, 400)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    return _json({"error": exc.detail or "request refused"}, exc.status_code)


async def _validation_error(request: Request, exc: ValidationError) -> Response:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    return _json({"error": f"{where}: {message}"}, 422)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
    return _json({"error": f"internal error: {type(exc).__name__}"}, 500)


def create_app(bench: Workbench) -> Starlette:
    """The ASGI app serving ``bench``."""
    app = Starlette(routes=[
        Route("/", page),
        Route("/static/{name}", static),
        Route("/api/layers", layers),
        Route("/api/basemap", basemap),
        Route("/api/baseline", baseline),
        Route("/api/scenario", scenario, methods=["POST"]),
        Route("/api/view", view),
        Route("/api/site", site_route, methods=["POST"]),
        Route("/api/export", export),
    ], exception_handlers={ClientError: _client_error, BodyError: _body_error,
                           HTTPException: _http_error, ValidationError: _validation_error,
                           Exception: _internal_error})
    app.state.bench = bench
    app.state.compute_limiter = anyio.CapacityLimiter(COMPUTE_THREADS)
    return app
