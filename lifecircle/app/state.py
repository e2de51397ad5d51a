"""Per-session scenario state of the workbench: the interventions so far, the study they make,
each kind's nearest distances and the metrics; and the bounded, expiring store of sessions."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from scipy import sparse

from lifecircle.app.incremental import Engine, add_pairs_column, add_to_access
from lifecircle.app.park_edits import add_park
from lifecircle.coverage.walk import KindAccess
from lifecircle.layers.study import Study
from lifecircle.metrics import Metric
from lifecircle.pipeline.result import RunResult
from lifecircle.pipeline.run import run
from lifecircle.pipeline.stages import ParkFigures
from lifecircle.scenarios.apply import add_facility, apply_interventions
from lifecircle.scenarios.spec import Intervention

#: Sessions kept at once (assumption: a county office, a handful of planners); the oldest goes.
MAX_SESSIONS = 32
#: A session unused this long is dropped (assumption: 30 minutes).
SESSION_TTL_S = 30 * 60.0
#: Interventions per scenario (assumption: far above a planning scenario, bounds memory).
MAX_INTERVENTIONS = 200


@dataclasses.dataclass
class ScenarioState:
    """One scenario: its interventions, the study they make and what it measures."""

    interventions: list[Intervention]
    study: Study
    access: dict[str, KindAccess]
    records: dict[str, Metric]
    #: per catchment kind, cell-facility distances within the threshold (filled on first use)
    pairs: dict[str, sparse.csr_matrix] = dataclasses.field(default_factory=dict)
    #: the park coverages before they become metrics (None: no parks, or not measured)
    parks: ParkFigures | None = None

    @classmethod
    def baseline(cls, result: RunResult) -> ScenarioState:
        return cls([], result.study, dict(result.access), dict(result.records))

    def update(self, engine: Engine, base: Study, items: list[Intervention]) -> ScenarioState:
        """The state after replacing the interventions with ``items``.

        One add appended to the current list takes the incremental path (one bounded search);
        any other change rebuilds the facilities and remeasures only the kinds whose facility
        set changed; a change of the ``grow`` items (population) reruns the pipeline.
        """
        items = list(items)
        if items == self.interventions:
            return self
        if items and items[:-1] == self.interventions and items[-1].add is not None:
            return self._append_add(engine, base, items)
        grows = [i for i in items if i.grow is not None]
        if grows != [i for i in self.interventions if i.grow is not None]:
            study = apply_interventions(base, items, source="workbench")
            result = run(study, engine.config)
            return ScenarioState(items, study, dict(result.access), dict(result.records))
        study = apply_interventions(base, items, source="workbench")
        changed = _changed_kinds(self.study, study)
        access = dict(self.access)
        pairs = {k: v for k, v in self.pairs.items() if k not in changed}
        for kind in changed & set(engine.config.measured_kinds()):
            measured = engine.measure_kind(study, kind)
            if measured is None:
                access.pop(kind, None)
            else:
                access[kind] = measured
        records, parks = engine.update_records(study, access, self.records, changed, pairs,
                                               None if "park" in changed else self.parks)
        return ScenarioState(items, study, access, records, pairs, parks)

    def _append_add(self, engine: Engine, base: Study, items: list[Intervention]
                    ) -> ScenarioState:
        add = items[-1].add
        facilities = add_facility(self.study.facilities, add, len(items), base)
        closed = tuple(sorted(set(base.facilities["kind"]) - set(facilities["kind"])))
        study = dataclasses.replace(self.study, facilities=facilities, absent_kinds=closed)
        access = dict(self.access)
        pairs = {k: v for k, v in self.pairs.items() if k != add.kind}
        if add.kind in engine.config.measured_kinds():
            if add.kind in access and engine.incremental:
                row = facilities.iloc[-1]
                access[add.kind], node_dist = add_to_access(
                    engine.index, access[add.kind], row.geometry, row["fid"], engine.cells,
                    engine.config.snap_m(), engine.limit(add.kind))
                if add.kind in self.pairs:  # the same search gives the new catchment column
                    pairs[add.kind] = add_pairs_column(self.pairs[add.kind], node_dist,
                                                       engine.cells,
                                                       engine.config.threshold(add.kind))
            else:
                access[add.kind] = engine.measure_kind(study, add.kind)
        parks = self.parks
        if add.kind == "park":  # its zones join the park figures; else measured in full
            parks = (add_park(parks, study, facilities.iloc[[-1]], engine.index,
                              engine.config.snap_m())
                     if parks is not None and engine.incremental else None)
        records, parks = engine.update_records(study, access, self.records, {add.kind}, pairs,
                                               parks)
        return ScenarioState(items, study, access, records, pairs, parks)

    def result(self, engine: Engine, targets: list) -> RunResult:
        """A RunResult view of the state (for the scorecard's metrics and scored targets)."""
        return RunResult(study=self.study, config=engine.config, access=self.access,
                         records=self.records, layers={}, missing_kinds=[], timings_s={},
                         target_list=targets, regions=engine.regions)


def _changed_kinds(before: Study, after: Study) -> set[str]:
    """Kinds whose facility ids differ between two studies."""
    def by_kind(study: Study) -> dict[str, tuple]:
        return study.facilities.groupby("kind", sort=False)["fid"].agg(tuple).to_dict()

    old, new = by_kind(before), by_kind(after)
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


@dataclasses.dataclass
class Session:
    """One client's scenario and its undo/redo history is kept by the page; the server keeps the
    current state and a lock so one client's requests run in order."""

    state: ScenarioState
    last_used: float
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class SessionStore:
    """At most ``max_sessions`` sessions, each dropped after ``ttl_s`` unused (least recently
    used first when full)."""

    def __init__(self, baseline: ScenarioState, max_sessions: int = MAX_SESSIONS,
                 ttl_s: float = SESSION_TTL_S) -> None:
        self.baseline = baseline
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str | None) -> tuple[str, Session]:
        """The session of ``token``, or a new one at the baseline (with a new token)."""
        now = time.monotonic()
        with self._lock:
            for old in [t for t, s in self._sessions.items() if now - s.last_used > self.ttl_s]:
                del self._sessions[old]
            session = self._sessions.get(token) if token else None
            if session is None:
                token = secrets.token_urlsafe(18)
                session = self._sessions[token] = Session(self.baseline, now)
                while len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(token)
            session.last_used = now
            return token, session

    def __len__(self) -> int:
        return len(self._sessions)

    def info(self) -> dict[str, Any]:
        return {"sessions": len(self._sessions), "max_sessions": self.max_sessions,
                "ttl_s": self.ttl_s}
