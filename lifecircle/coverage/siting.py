"""Where the next facilities go: maximal coverage (MCLP), the fewest sites reaching a coverage
target, and p-median (optionally capacitated), with existing facilities fixed (DESIGN §5).

Every model is built on SPARSE pairs, never on a dense cells x sites matrix:

- coverage models take ``cover_pairs``, a sparse boolean (cells x candidates) matrix: a stored
  entry means the candidate would cover the cell; ``already_covered`` marks the cells existing
  facilities cover;
- p-median takes ``cost_pairs``, a sparse (cells x sites) matrix of walking distances (stored
  entries are the only allowed assignments; a distance of 0 must be stored as a tiny positive
  number, as :func:`lifecircle.coverage.engine.per_facility_distances` does).

Exact answers come from HiGHS (``highspy``, branch and cut), started from the greedy answer so a
time limit always leaves a solution at least as good as greedy. Greedy answers (``method=
"greedy"``) carry an explicit bound: for coverage, the LP relaxation and the submodularity bound
``f(S_t) + sum of the k largest marginal gains at S_t`` (which implies greedy >= (1 - 1/e) of the
optimum); for p-median, the LP relaxation. Every result carries a :class:`SolveInfo`.

Weights are generic: population per cell, or residential land area per piece for parks
(:func:`residential_pieces` and :func:`park_cover_pairs` build the official park figure's inputs).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import highspy
import numpy as np
import shapely
from scipy import sparse

from lifecircle.coverage.engine import NodeIndex, Snap, per_facility_distances
from lifecircle.layers.landuse import dissolve

# GB/T 50563-2010 城市园林绿化评价标准: park service-radius tiers as
# (minimum park area m², radius m), largest first; smaller parks do not count (DESIGN §3).
GBT_50563_2010: tuple[tuple[float, float], ...] = ((5000.0, 500.0), (2000.0, 300.0))

# relative slack on a coverage target, so a float rounding never calls a met target unmet
_TARGET_TOL = 1e-9
# HiGHS column values above this count as "built"
_ON = 0.5
# highspy.Highs() prints a licence banner to stdout when first built (its __init__ runs before
# output_flag can be set), which would corrupt a CLI's stdout; the core class it wraps prints
# nothing and has every method used here.
_HIGHS = getattr(getattr(highspy, "_core", None), "_Highs", highspy.Highs)


@dataclass(frozen=True)
class SolveOptions:
    """How to solve.

    Attributes
    ----------
    method : "exact" (HiGHS branch and cut, started from greedy) or "greedy" (with a bound)
    time_limit_s : wall-clock limit of each HiGHS run; on expiry the best solution found is
        returned with its proven bound and gap
    mip_rel_gap : HiGHS stops when the relative gap is at most this (0 proves optimality)
    """

    method: Literal["exact", "greedy"] = "exact"
    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-4

    def __post_init__(self) -> None:
        if self.method not in ("exact", "greedy"):
            raise ValueError(f"method must be 'exact' or 'greedy', not {self.method!r}")
        if not self.time_limit_s > 0 or not self.mip_rel_gap >= 0:
            raise ValueError("time_limit_s must be > 0 and mip_rel_gap >= 0")


@dataclass(frozen=True)
class SolveInfo:
    """What the solver proved.

    Attributes
    ----------
    method : "milp" (HiGHS) or "greedy"
    status : HiGHS model status ("Optimal", "Time limit reached", ...) or "heuristic"
    objective : value of the returned solution (in the model's own units)
    bound : proven bound on the optimum (upper for maximising, lower for minimising)
    gap : ``|objective - bound| / |objective|`` (0 when both are 0; inf when only the objective is)
    bound_source : where the bound comes from
    seconds : wall-clock time of the solve, including greedy and bounds
    """

    method: str
    status: str
    objective: float
    bound: float
    gap: float
    bound_source: str
    seconds: float

    @property
    def proven_optimal(self) -> bool:
        """Whether the gap is zero up to floating-point noise."""
        return self.gap <= 1e-9

    def as_dict(self) -> dict:
        """Plain dict for scorecards and JSON (an infinite gap becomes None)."""
        return {"method": self.method, "status": self.status, "objective": self.objective,
                "bound": self.bound, "gap": self.gap if math.isfinite(self.gap) else None,
                "bound_source": self.bound_source, "seconds": self.seconds}


@dataclass(frozen=True)
class CoverageResult:
    """Chosen candidates and the coverage they add.

    Attributes
    ----------
    chosen : candidate indices (columns of ``cover_pairs``) in greedy order: each adds the most
        new weight given the ones before it; sites that would add nothing are left out
    gain : new weight each chosen site adds, in that order
    total_weight : weight of all cells (the share's denominator)
    covered_before : weight covered by existing facilities
    solve : what the solver proved (objective = new weight covered)
    """

    chosen: np.ndarray
    gain: np.ndarray
    total_weight: float
    covered_before: float
    solve: SolveInfo

    @property
    def share_before(self) -> float:
        """Covered share with existing facilities only."""
        return _share(self.covered_before, self.total_weight)

    @property
    def share_path(self) -> np.ndarray:
        """Covered share after each chosen site is added, in order."""
        return _share(self.covered_before + np.cumsum(self.gain), self.total_weight)

    @property
    def share_after(self) -> float:
        """Covered share with every chosen site built."""
        return _share(self.covered_before + float(self.gain.sum()), self.total_weight)


@dataclass(frozen=True)
class TargetResult:
    """The fewest candidates that lift the covered share to a target.

    Attributes
    ----------
    target_share : the share asked for
    reachable_share : the share with every candidate built
    reached : whether ``sites`` reach the target; when the target is out of reach, ``sites`` are
        the fewest that reach ``reachable_share``
    sites : the chosen set (the most coverage among sets of that size), in greedy order, with
        the share after each added site
    min_sites : proven lower bound on the number of sites (== ``len(sites.chosen)`` when proven)
    count_solve : what the solver proved about the number of sites (objective = count)
    """

    target_share: float
    reachable_share: float
    reached: bool
    sites: CoverageResult
    min_sites: int
    count_solve: SolveInfo


@dataclass(frozen=True)
class MedianResult:
    """New sites minimising demand-weighted walking distance, existing sites kept.

    Attributes
    ----------
    chosen : new site indices (columns of ``cost_pairs``), sorted
    demand : demand per cell (as given)
    assignment : csr (cells x sites), share of each cell's demand served by each site
    unassigned : demand per cell served by no site (no pair to an open site, or capacity full)
    total_cost : sum of demand x distance over assigned demand
    unassigned_cost : the per-unit cost charged for unassigned demand in the objective
    solve : what the solver proved (objective = total_cost + unassigned_cost x unassigned demand)
    """

    chosen: np.ndarray
    demand: np.ndarray
    assignment: sparse.csr_matrix
    unassigned: np.ndarray
    total_cost: float
    unassigned_cost: float
    solve: SolveInfo

    @property
    def load(self) -> np.ndarray:
        """Demand served by each site."""
        return np.asarray(self.assignment.T @ self.demand).ravel()

    @property
    def mean_cost(self) -> float:
        """Mean distance per unit of assigned demand (NaN when nothing is assigned)."""
        assigned = float(self.demand.sum() - self.unassigned.sum())
        return self.total_cost / assigned if assigned > 0 else float("nan")


# ---------------------------------------------------------------------------------------------
# coverage: MCLP and the fewest sites to a target


@dataclass(frozen=True)
class _Coverage:
    """A coverage instance reduced to what matters: uncovered, coverable cells with identical
    candidate sets merged into one row, and candidates that cover at least one of them."""

    weight: np.ndarray            # per reduced row
    cover: sparse.csc_matrix      # reduced rows x useful candidates, float 0/1
    candidates: np.ndarray        # original column of each useful candidate
    total_weight: float
    covered_before: float

    @property
    def coverable(self) -> float:
        return float(self.weight.sum())


@dataclass(frozen=True)
class _Greedy:
    chosen: np.ndarray   # reduced column indices, in order
    gain: np.ndarray
    bound: float         # submodularity bound on the optimum with k sites (inf without k)


def covered_share(weights: np.ndarray, cover_pairs: sparse.spmatrix, already_covered: np.ndarray,
                  chosen: np.ndarray) -> float:
    """Covered share when the ``chosen`` candidates are built beside the existing facilities.

    Parameters
    ----------
    weights : weight per cell (population, or land area)
    cover_pairs : sparse bool (cells x candidates), True where the candidate covers the cell
    already_covered : bool per cell, covered by existing facilities
    chosen : candidate indices (columns) built
    """
    weights = np.asarray(weights, dtype=np.float64)
    pairs = sparse.csc_matrix(cover_pairs, dtype=bool)
    chosen = np.asarray(chosen, dtype=np.int64)
    by_new = np.asarray(pairs[:, chosen].sum(axis=1)).ravel() > 0
    return _share(float(weights[np.asarray(already_covered, dtype=bool) | by_new].sum()),
                  float(weights.sum()))


def mclp(weights: np.ndarray, cover_pairs: sparse.spmatrix, already_covered: np.ndarray, k: int,
         options: SolveOptions | None = None) -> CoverageResult:
    """Maximal covering location: the ``k`` candidates covering the most weight not yet covered.

    Parameters
    ----------
    weights : weight per cell (population, or residential land area for parks), >= 0
    cover_pairs : sparse bool (cells x candidates), True where the candidate would cover the cell
    already_covered : bool per cell, covered by existing facilities (fixed)
    k : the number of new sites
    options : solver choice, time limit and gap

    Returns
    -------
    CoverageResult (objective = newly covered weight; bound is an upper bound on it)
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    problem = _coverage_problem(weights, cover_pairs, already_covered)
    k = int(k)
    greedy = _greedy_cover(problem.weight, problem.cover, k=k)
    if options.method == "greedy":
        value = float(greedy.gain.sum())
        lp = _run(_mclp_model(problem, k), options, relax=True)
        bound, source = _lowest((greedy.bound, "greedy submodularity bound"),
                                (lp.objective, "LP relaxation"))
        info = _info("greedy", "heuristic", value, bound, source, started)
        return _coverage_result(problem, problem.candidates[greedy.chosen], info)
    run = _run(_mclp_model(problem, k), options,
               start=_indicator(greedy.chosen, problem.cover.shape[1]))
    bound, source = _lowest((run.bound, "HiGHS dual bound"),
                            (greedy.bound, "greedy submodularity bound"))
    built = run.x[: problem.cover.shape[1]] > _ON
    value = float(problem.weight @ _covered_rows(problem.cover, built))
    chosen = np.flatnonzero(built)
    info = _info("milp", run.status, value, bound, source, started)
    return _coverage_result(problem, problem.candidates[chosen], info)


def target_mode(weights: np.ndarray, cover_pairs: sparse.spmatrix, already_covered: np.ndarray,
                target_share: float, options: SolveOptions | None = None) -> TargetResult:
    """The fewest candidates whose coverage, with existing facilities, reaches ``target_share``.

    Solves ``min sum x`` subject to covered weight >= target x total weight, then, with that
    many sites, the set covering the most weight (MCLP), ordered greedily so the share climbs
    site by site. When the candidates cannot reach the target, the answer is the fewest sites
    reaching the best share all candidates reach, and ``reached`` is False.

    Parameters
    ----------
    weights : weight per cell (population, or residential land area for parks)
    cover_pairs : sparse bool (cells x candidates)
    already_covered : bool per cell, covered by existing facilities
    target_share : the covered share to reach, 0..1
    options : solver choice, time limit and gap

    Returns
    -------
    TargetResult
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    problem = _coverage_problem(weights, cover_pairs, already_covered)
    reachable = _share(problem.covered_before + problem.coverable, problem.total_weight)
    reached = reachable >= target_share - _TARGET_TOL
    goal = target_share if reached else reachable
    need = (goal * problem.total_weight - problem.covered_before) * (1.0 - _TARGET_TOL)
    method = "greedy" if options.method == "greedy" else "milp"
    if need <= 0:
        why = "target met by existing facilities" if reached else "no candidate adds coverage"
        none = _info(method, "Optimal", 0.0, 0.0, why, started)
        return TargetResult(target_share, reachable, reached,
                            _coverage_result(problem, np.empty(0, np.int64), none), 0, none)
    n_cand = problem.cover.shape[1]
    greedy = _greedy_cover(problem.weight, problem.cover, need=need)
    if options.method == "greedy":
        lp = _run(_count_model(problem, need), options, relax=True)
        lp_count = math.ceil(lp.objective - 1e-6)
        count = _info(method, "heuristic", float(greedy.chosen.size), float(lp_count),
                      "LP relaxation", started)
        sites = _coverage_result(problem, problem.candidates[greedy.chosen], count)
        return TargetResult(target_share, reachable, reached, sites, lp_count, count)
    run = _run(_count_model(problem, need), options, start=_indicator(greedy.chosen, n_cand))
    fewest = run.x[:n_cand] > _ON
    min_sites = math.ceil(run.bound - 1e-6)
    count = _info(method, run.status, float(fewest.sum()), float(min_sites), "HiGHS dual bound",
                  started)
    # with that many sites, the set covering the most (never less than the fewest-sites answer)
    refine = _run(_mclp_model(problem, int(fewest.sum())), options, start=fewest.astype(float))
    refined = refine.x[:n_cand] > _ON
    value = float(problem.weight @ _covered_rows(problem.cover, refined))
    if value < float(problem.weight @ _covered_rows(problem.cover, fewest)):
        refined, value = fewest, float(problem.weight @ _covered_rows(problem.cover, fewest))
    sites = _coverage_result(problem, problem.candidates[np.flatnonzero(refined)],
                             _info(method, refine.status, value, refine.bound,
                                   "HiGHS dual bound", started))
    return TargetResult(target_share, reachable, reached, sites, min_sites, count)


def _coverage_problem(weights: np.ndarray, cover_pairs: sparse.spmatrix,
                      already_covered: np.ndarray) -> _Coverage:
    weights = np.asarray(weights, dtype=np.float64)
    already = np.asarray(already_covered, dtype=bool)
    pairs = sparse.csr_matrix(cover_pairs, dtype=bool)
    if pairs.shape[0] != weights.size or already.size != weights.size:
        raise ValueError(f"cover_pairs has {pairs.shape[0]} rows, weights {weights.size}, "
                         f"already_covered {already.size}: one per cell each")
    if (weights < 0).any() or not np.isfinite(weights).all():
        raise ValueError("weights must be finite and >= 0")
    open_rows = ~already & (weights > 0) & (pairs.getnnz(axis=1) > 0)
    pairs = pairs[open_rows]
    useful = np.flatnonzero(pairs.getnnz(axis=0) > 0)
    merged, weight = _merge_identical_rows(pairs[:, useful].tocsr(), weights[open_rows])
    return _Coverage(weight=weight, cover=merged.astype(np.float64).tocsc(), candidates=useful,
                     total_weight=float(weights.sum()),
                     covered_before=float(weights[already].sum()))


def _merge_identical_rows(pairs: sparse.csr_matrix, weight: np.ndarray
                          ) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Cells covered by exactly the same candidates become one row carrying their summed weight
    (exact: rows are grouped by length, then by their sorted column lists)."""
    if pairs.shape[0] == 0:
        return pairs, weight
    pairs.sort_indices()
    lengths = np.diff(pairs.indptr)
    rows_out, weights_out = [], []
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        cols = pairs.indices[pairs.indptr[rows][:, None] + np.arange(length)]
        patterns, group = np.unique(cols, axis=0, return_inverse=True)
        rows_out.append(patterns)
        weights_out.append(np.bincount(group.ravel(), weights=weight[rows]))
    lengths_out = np.concatenate([np.full(p.shape[0], p.shape[1]) for p in rows_out])
    indptr = np.concatenate([[0], np.cumsum(lengths_out)])
    indices = np.concatenate([p.ravel() for p in rows_out])
    merged = sparse.csr_matrix((np.ones(indices.size, dtype=bool), indices, indptr),
                               shape=(indptr.size - 1, pairs.shape[1]))
    return merged, np.concatenate(weights_out)


def _greedy_cover(weight: np.ndarray, cover: sparse.csc_matrix, k: int | None = None,
                  need: float | None = None) -> _Greedy:
    """Add the candidate covering the most uncovered weight until ``k`` sites or ``need`` weight.

    With ``k``, also the submodularity bound ``min_t f(S_t) + (sum of the k largest gains at
    S_t)`` on the best ``k``-site coverage.
    """
    rows_of = cover.tocsr()
    gains = np.asarray(cover.T @ weight).ravel()
    covered = np.zeros(weight.size, dtype=bool)
    chosen, added = [], []
    value, bound = 0.0, np.inf
    while (k is None or len(chosen) < k) and (need is None or value < need):
        if k is not None:
            bound = min(bound, value + _top_sum(gains, k))
        j = int(np.argmax(gains)) if gains.size else -1
        if j < 0 or gains[j] <= 0:
            break
        rows = cover.indices[cover.indptr[j]: cover.indptr[j + 1]]
        new = rows[~covered[rows]]
        covered[new] = True
        gains -= np.asarray(rows_of[new].T @ weight[new]).ravel()
        np.maximum(gains, 0.0, out=gains)
        chosen.append(j)
        added.append(float(weight[new].sum()))
        value += added[-1]
    if k is not None:
        bound = min(bound, value + _top_sum(gains, k))
    return _Greedy(np.asarray(chosen, dtype=np.int64), np.asarray(added), float(bound))


def _top_sum(values: np.ndarray, k: int) -> float:
    if k <= 0 or values.size == 0:
        return 0.0
    if k >= values.size:
        return float(values.sum())
    return float(np.partition(values, values.size - k)[values.size - k:].sum())


def _covered_rows(cover: sparse.csc_matrix, built: np.ndarray) -> np.ndarray:
    """1.0 for rows covered by the ``built`` (bool per column) candidates, else 0.0."""
    return (np.asarray(cover @ built.astype(np.float64)).ravel() > 0).astype(np.float64)


def _indicator(chosen: np.ndarray, size: int) -> np.ndarray:
    x = np.zeros(size)
    x[chosen] = 1.0
    return x


def _coverage_result(problem: _Coverage, chosen: np.ndarray, info: SolveInfo) -> CoverageResult:
    """Order ``chosen`` (original columns) greedily and drop sites that add nothing."""
    columns = np.searchsorted(problem.candidates, chosen)
    order = _greedy_cover(problem.weight, problem.cover[:, columns].tocsc(), k=columns.size)
    return CoverageResult(chosen=np.asarray(chosen, dtype=np.int64)[order.chosen],
                          gain=order.gain, total_weight=problem.total_weight,
                          covered_before=problem.covered_before, solve=info)


def _mclp_model(problem: _Coverage, k: int) -> _Model:
    """max w.y  s.t.  y_r <= sum_j a_rj x_j,  sum x <= k,  x binary,  0 <= y <= 1."""
    n_rows, n_cand = problem.cover.shape
    links = sparse.hstack([-problem.cover, sparse.identity(n_rows)])
    card = sparse.hstack([np.ones((1, n_cand)), sparse.csr_matrix((1, n_rows))])
    return _Model(
        cost=np.concatenate([np.zeros(n_cand), problem.weight]),
        matrix=sparse.vstack([links, card]).tocsc(),
        row_lo=np.full(n_rows + 1, -np.inf),
        row_hi=np.concatenate([np.zeros(n_rows), [float(k)]]),
        integer=np.arange(n_cand + n_rows) < n_cand,
        maximise=True,
    )


def _count_model(problem: _Coverage, need: float) -> _Model:
    """min sum x  s.t.  y_r <= sum_j a_rj x_j,  w.y >= need,  x binary,  0 <= y <= 1."""
    n_rows, n_cand = problem.cover.shape
    links = sparse.hstack([-problem.cover, sparse.identity(n_rows)])
    goal = sparse.hstack([sparse.csr_matrix((1, n_cand)), problem.weight[None, :]])
    return _Model(
        cost=np.concatenate([np.ones(n_cand), np.zeros(n_rows)]),
        matrix=sparse.vstack([links, goal]).tocsc(),
        row_lo=np.concatenate([np.full(n_rows, -np.inf), [need]]),
        row_hi=np.concatenate([np.zeros(n_rows), [np.inf]]),
        integer=np.arange(n_cand + n_rows) < n_cand,
        maximise=False,
    )


# ---------------------------------------------------------------------------------------------
# p-median


@dataclass(frozen=True)
class _Median:
    """A p-median instance: assignment pairs (cell, site, cost), a fallback cost per model cell
    (the cost when the cell is served by no pair), and capacities of the capacitated sites."""

    demand: np.ndarray        # per model cell
    cells: np.ndarray         # original row of each model cell
    pair_cell: np.ndarray     # model cell of each pair
    pair_site: np.ndarray     # original site column of each pair
    pair_cost: np.ndarray
    pair_x: np.ndarray        # x variable of each pair's site (-1 for existing sites)
    fallback: np.ndarray      # per model cell
    candidates: np.ndarray    # original column of each candidate (x variable)
    capacity: np.ndarray      # per original site (inf = uncapacitated)
    constant: float           # cost of demand outside the model


def p_median(demand: np.ndarray, cost_pairs: sparse.spmatrix, existing: np.ndarray, k_new: int,
             *, capacities: np.ndarray | None = None, unassigned_cost: float | None = None,
             options: SolveOptions | None = None) -> MedianResult:
    """p-median with existing sites fixed: ``k_new`` new sites minimising the total
    demand-weighted walking distance.

    Uncapacitated, every cell goes to its nearest open site. With ``capacities``, demand may be
    split between sites, no site serves more than its capacity, and demand no site can take
    pays ``unassigned_cost`` per unit (reported in ``unassigned``). Assignment variables exist
    only on the stored pairs.

    Parameters
    ----------
    demand : demand per cell (population, pupils), >= 0
    cost_pairs : sparse (cells x sites) walking distances; the sites are the existing sites and
        the candidates; missing pairs are not allowed assignments
    existing : bool per site, True for sites already open (fixed)
    k_new : number of new sites to open among the candidates (at most)
    capacities : per site (seats, beds); inf or NaN for an uncapacitated site; None for none
    unassigned_cost : per-unit distance charged for unassigned demand (default: twice the
        largest stored distance, so any allowed assignment is preferred)
    options : solver choice, time limit and gap

    Returns
    -------
    MedianResult (objective = total cost including the charge for unassigned demand)
    """
    options = options or SolveOptions()
    started = time.perf_counter()
    demand = np.asarray(demand, dtype=np.float64)
    costs = sparse.csr_matrix(cost_pairs, dtype=np.float64)
    existing = np.asarray(existing, dtype=bool)
    if costs.shape != (demand.size, existing.size):
        raise ValueError(f"cost_pairs is {costs.shape}; expected (cells={demand.size}, "
                         f"sites={existing.size})")
    penalty = (float(unassigned_cost) if unassigned_cost is not None
               else 2.0 * float(costs.data.max()) if costs.nnz else 1.0)
    capacity = (np.full(existing.size, np.inf) if capacities is None
                else np.nan_to_num(np.asarray(capacities, dtype=np.float64), nan=np.inf))
    problem = _median_problem(demand, costs, existing, capacity, penalty)
    greedy = _greedy_median(problem, int(k_new))
    model = _median_model(problem, int(k_new))
    start = _indicator(greedy, problem.candidates.size)
    if options.method == "greedy":
        lp = _run(model, options, relax=True)
        fixed = _run(model, options, fix=start)
        info = _info("greedy", "heuristic", fixed.objective + problem.constant,
                     lp.objective + problem.constant, "LP relaxation", started)
        x = fixed.x
    else:
        run = _run(model, options, start=start)
        info = _info("milp", run.status, run.objective + problem.constant,
                     run.bound + problem.constant, "HiGHS dual bound", started)
        x = run.x
    return _median_result(problem, x, demand, costs, existing, penalty, info)


def _median_problem(demand: np.ndarray, costs: sparse.csr_matrix, existing: np.ndarray,
                    capacity: np.ndarray, penalty: float) -> _Median:
    """Pairs and fallbacks. Uncapacitated: existing sites collapse into each cell's fallback
    (its nearest existing distance), and only candidate pairs closer than it are kept."""
    coo = costs.tocoo()
    rows, cols, vals = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    fallback = np.full(demand.size, penalty)
    if np.isinf(capacity).all():
        ex = existing[cols]
        np.minimum.at(fallback, rows[ex], vals[ex])
        keep = ~ex & (vals < fallback[rows])
    else:
        keep = np.ones(rows.size, dtype=bool)
    keep &= demand[rows] > 0
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    cells = np.unique(rows)
    outside = np.ones(demand.size, dtype=bool)
    outside[cells] = False
    candidates = np.unique(cols[~existing[cols]])
    return _Median(
        demand=demand[cells], cells=cells, pair_cell=np.searchsorted(cells, rows),
        pair_site=cols, pair_cost=vals,
        pair_x=np.where(existing[cols], -1, np.searchsorted(candidates, cols)),
        fallback=fallback[cells], candidates=candidates, capacity=capacity,
        constant=float(demand[outside] @ fallback[outside]),
    )


def _median_model(problem: _Median, k: int) -> _Model:
    """Columns: x (candidates, binary), z (pairs), u (cells, unassigned share).

    min sum d_i c_p z_p + sum d_i f_i u_i  s.t.  sum_p z_p + u_i = 1 per cell,  z_p <= x_j on
    candidate pairs,  sum_i d_i z_ij <= cap_j (x_j) on capacitated sites,  sum x <= k.
    """
    n_x, n_z, n_u = problem.candidates.size, problem.pair_cost.size, problem.demand.size
    z = n_x + np.arange(n_z)
    d_pair = problem.demand[problem.pair_cell]
    linked = np.flatnonzero(problem.pair_x >= 0)
    link_row = n_u + np.arange(linked.size)
    capped = np.flatnonzero(np.isfinite(problem.capacity))
    cap_row = np.full(problem.capacity.size, -1)
    cap_row[capped] = n_u + linked.size + np.arange(capped.size)
    has_cap = cap_row[problem.pair_site] >= 0
    cand_capped = np.flatnonzero(np.isfinite(problem.capacity[problem.candidates]))
    card_row = n_u + linked.size + capped.size
    blocks = [
        (problem.pair_cell, z, np.ones(n_z)),                                    # assignment
        (np.arange(n_u), n_x + n_z + np.arange(n_u), np.ones(n_u)),
        (link_row, z[linked], np.ones(linked.size)),                             # z_p <= x_j
        (link_row, problem.pair_x[linked], -np.ones(linked.size)),
        (cap_row[problem.pair_site[has_cap]], z[has_cap], d_pair[has_cap]),      # capacity
        (cap_row[problem.candidates[cand_capped]], cand_capped,
         -problem.capacity[problem.candidates[cand_capped]]),
        (np.full(n_x, card_row), np.arange(n_x), np.ones(n_x)),                  # cardinality
    ]
    r, c, v = (np.concatenate(part) for part in zip(*blocks, strict=True))
    n_cols = n_x + n_z + n_u
    return _Model(
        cost=np.concatenate([np.zeros(n_x), d_pair * problem.pair_cost,
                             problem.demand * problem.fallback]),
        matrix=sparse.csc_matrix((v, (r, c)), shape=(card_row + 1, n_cols)),
        row_lo=np.concatenate([np.ones(n_u), np.full(card_row + 1 - n_u, -np.inf)]),
        row_hi=np.concatenate([np.ones(n_u), np.zeros(linked.size),
                               np.where(np.isin(capped, problem.candidates), 0.0,
                                        problem.capacity[capped]), [float(k)]]),
        integer=np.arange(n_cols) < n_x,
        maximise=False,
    )


def _greedy_median(problem: _Median, k: int) -> np.ndarray:
    """Candidates (x indices) added one by one, each cutting the uncapacitated cost the most."""
    best = problem.fallback.copy()
    on_cand = problem.pair_x >= 0
    cell, site, cost = problem.pair_cell[on_cand], problem.pair_x[on_cand], \
        problem.pair_cost[on_cand]
    chosen: list[int] = []
    for _ in range(min(k, problem.candidates.size)):
        saving = problem.demand[cell] * np.maximum(best[cell] - cost, 0.0)
        gains = np.bincount(site, weights=saving, minlength=problem.candidates.size)
        j = int(np.argmax(gains))
        if gains[j] <= 0:
            break
        mine = site == j
        np.minimum.at(best, cell[mine], cost[mine])
        chosen.append(j)
    return np.asarray(chosen, dtype=np.int64)


def _median_result(problem: _Median, x: np.ndarray, demand: np.ndarray,
                   costs: sparse.csr_matrix, existing: np.ndarray, penalty: float,
                   info: SolveInfo) -> MedianResult:
    n_x = problem.candidates.size
    chosen = problem.candidates[x[:n_x] > _ON]
    if np.isinf(problem.capacity).all():
        open_site = existing.copy()
        open_site[chosen] = True
        assignment = _nearest_open(costs, open_site, penalty)
    else:
        share = x[n_x: n_x + problem.pair_cost.size]
        used = share > 1e-9
        assignment = sparse.csr_matrix(
            (share[used], (problem.cells[problem.pair_cell[used]], problem.pair_site[used])),
            shape=costs.shape)
    served = np.asarray(assignment.sum(axis=1)).ravel()
    unassigned = demand * np.clip(1.0 - served, 0.0, 1.0)
    total = float(demand @ np.asarray(assignment.multiply(costs).sum(axis=1)).ravel())
    return MedianResult(chosen=np.sort(chosen), demand=demand, assignment=assignment,
                        unassigned=unassigned, total_cost=total, unassigned_cost=penalty,
                        solve=info)


def _nearest_open(costs: sparse.csr_matrix, open_site: np.ndarray, limit: float
                  ) -> sparse.csr_matrix:
    """Each cell assigned wholly to its nearest open site closer than ``limit``."""
    coo = costs.tocoo()
    ok = open_site[coo.col] & (coo.data < limit)
    rows, cols, vals = coo.row[ok], coo.col[ok], coo.data[ok]
    order = np.lexsort((vals, rows))
    rows, cols = rows[order], cols[order]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    return sparse.csr_matrix((np.ones(first.sum()), (rows[first], cols[first])),
                             shape=costs.shape)


# ---------------------------------------------------------------------------------------------
# HiGHS


@dataclass(frozen=True)
class _Model:
    cost: np.ndarray
    matrix: sparse.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    integer: np.ndarray
    maximise: bool


@dataclass(frozen=True)
class _Run:
    x: np.ndarray
    objective: float
    bound: float
    status: str


def _run(model: _Model, options: SolveOptions, *, relax: bool = False,
         start: np.ndarray | None = None, fix: np.ndarray | None = None) -> _Run:
    """Solve with HiGHS. ``start``: values of the leading integer columns to try first (HiGHS
    completes the rest); ``fix``: values the leading integer columns are fixed to (an LP)."""
    h = _HIGHS()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(options.time_limit_s))
    h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    n_cols = model.cost.size
    col_lo, col_hi = np.zeros(n_cols), np.ones(n_cols)      # every column lies in [0, 1]
    if fix is not None:
        col_lo[: fix.size] = fix
        col_hi[: fix.size] = fix
    integer = model.integer & (not relax) & (fix is None)
    matrix = model.matrix
    h.passModel(n_cols, matrix.shape[0], matrix.nnz, 1, -1 if model.maximise else 1, 0.0,
                model.cost.astype(np.float64), col_lo, col_hi,
                model.row_lo.astype(np.float64), model.row_hi.astype(np.float64),
                matrix.indptr.astype(np.int32), matrix.indices.astype(np.int32),
                matrix.data.astype(np.float64), integer.astype(np.int32))
    if start is not None and integer.any():
        h.setSolution(start.size, np.arange(start.size, dtype=np.int32),
                      start.astype(np.float64))
    h.run()
    info = h.getInfo()
    objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound) if integer.any() else objective
    status = h.getModelStatus()
    # a model presolve empties (nothing to choose) is solved: its only solution is optimal
    label = h.modelStatusToString(highspy.HighsModelStatus.kOptimal
                                  if status == highspy.HighsModelStatus.kModelEmpty else status)
    return _Run(x=np.asarray(h.getSolution().col_value), objective=objective, bound=bound,
                status=label)


def _info(method: str, status: str, objective: float, bound: float, source: str,
          started: float) -> SolveInfo:
    if objective == bound:
        gap = 0.0
    else:
        gap = abs(objective - bound) / abs(objective) if objective else math.inf
    return SolveInfo(method=method, status=status, objective=float(objective) + 0.0,
                     bound=float(bound) + 0.0, gap=float(gap), bound_source=source,
                     seconds=time.perf_counter() - started)


def _lowest(*bounds: tuple[float, str]) -> tuple[float, str]:
    """The tightest of several upper bounds, with its source."""
    return min(bounds, key=lambda bound: bound[0])


def _share(covered: float | np.ndarray, total: float) -> float | np.ndarray:
    """``covered / total``, NaN when the total is zero."""
    covered = np.asarray(covered, dtype=np.float64)
    share = np.minimum(covered / total, 1.0) if total > 0 else np.full(covered.shape, np.nan)
    return float(share) if share.ndim == 0 else share


# ---------------------------------------------------------------------------------------------
# pairs: walking distances, and straight-line park coverage of residential land


def walk_cost_pairs(node_index: NodeIndex, sites: np.ndarray, cells: Snap, limit_m: float,
                    max_snap_m: float) -> sparse.csr_matrix:
    """Walking distance from every cell to every site within ``limit_m``, as sparse pairs.

    Cell distance = the site's network distance to the cell's snapped node + the cell's access
    distance (sites join the network as in :meth:`NodeIndex.facility_access`).

    Parameters
    ----------
    node_index : snapping index of the walk network
    sites : site geometries (existing facilities and/or candidates) in the network CRS
    cells : the cells snapped to the network (unreachable cells get no pair)
    limit_m : the largest distance kept (a coverage threshold, or a p-median search radius)
    max_snap_m : sites farther than this from any walkable node get no pair

    Returns
    -------
    csr_matrix (cells x sites) of distances in metres (> 0)
    """
    access = node_index.facility_access(np.asarray(sites, dtype=object), max_snap_m)
    by_node = per_facility_distances(node_index.network, access, limit_m).T.tocsr()
    ok = cells.reachable
    pairs = sparse.diags(ok.astype(np.float64)) @ by_node[np.where(ok, cells.node, 0)]
    pairs = sparse.csr_matrix(pairs)
    pairs.data += np.repeat(np.where(ok, cells.access_m, 0.0), np.diff(pairs.indptr))
    pairs.data[pairs.data > limit_m] = 0.0
    pairs.eliminate_zeros()
    return pairs


def split_cover(cost_pairs: sparse.spmatrix, existing: np.ndarray, threshold_m: float
                ) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Coverage inputs from distance pairs over existing sites and candidates.

    Parameters
    ----------
    cost_pairs : sparse (cells x sites) distances, e.g. from :func:`walk_cost_pairs`
    existing : bool per site, True for existing facilities
    threshold_m : a cell is covered by a site within this distance

    Returns
    -------
    (cover_pairs, already_covered): bool (cells x candidates), the candidates being the
    non-existing sites in their column order; and bool per cell covered by an existing site
    """
    within = sparse.csr_matrix(cost_pairs, dtype=np.float64, copy=True)
    within.data = (within.data <= threshold_m).astype(np.float64)
    within.eliminate_zeros()
    within = within.astype(bool).tocsc()
    existing = np.asarray(existing, dtype=bool)
    already = np.asarray(within[:, np.flatnonzero(existing)].sum(axis=1)).ravel() > 0
    return within[:, np.flatnonzero(~existing)].tocsr(), already


def tier_radius(size_m2: np.ndarray,
                radius_by_size: tuple[tuple[float, float], ...] = GBT_50563_2010) -> np.ndarray:
    """Service radius per park from its area (0 where the park is below every tier).

    Parameters
    ----------
    size_m2 : park areas
    radius_by_size : (minimum area m², radius m) tiers, in any order
    """
    size = np.nan_to_num(np.asarray(size_m2, dtype=np.float64), nan=0.0)
    tiers = sorted(radius_by_size, reverse=True)
    return np.select([size >= lo for lo, _ in tiers], [r for _, r in tiers], 0.0)


def residential_pieces(residential: gpd.GeoDataFrame, zone: shapely.Geometry | None,
                       piece_m: float = 50.0) -> gpd.GeoDataFrame:
    """Residential land cut into pieces of at most ``piece_m`` square, each wholly inside or
    wholly outside the existing parks' service zone (DESIGN §3).

    The covered pieces sum exactly to the official figure's numerator; new parks cover an
    uncovered piece when its centroid is within their radius (:func:`park_cover_pairs`).

    Parameters
    ----------
    residential : residential land polygons in a metric CRS (dissolved here)
    zone : union of the existing parks' straight-line service zones, e.g.
        ``park_service_radius_coverage(...).zone`` from :mod:`lifecircle.coverage.parks`
        (None or empty: no park counts)
    piece_m : side of the cutting grid in metres

    Returns
    -------
    GeoDataFrame with ``area_m2`` and ``covered`` (inside ``zone``)
    """
    pieces = _grid_pieces(dissolve(residential.geometry).to_numpy(), piece_m)
    zone = shapely.Polygon() if zone is None else zone
    shapely.prepare(zone)
    inside = shapely.covers(zone, pieces)
    edge = ~inside & shapely.intersects(zone, pieces)
    outside = ~inside & ~edge
    geoms = np.concatenate([pieces[inside], shapely.intersection(pieces[edge], zone),
                            pieces[outside], shapely.difference(pieces[edge], zone)])
    covered = np.repeat([True, True, False, False],
                        [inside.sum(), edge.sum(), outside.sum(), edge.sum()])
    area = shapely.area(geoms)
    keep = area > 0
    return gpd.GeoDataFrame({"area_m2": area[keep], "covered": covered[keep]},
                            geometry=geoms[keep], crs=residential.crs)


def park_cover_pairs(residential_pieces: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                     radius_by_size: tuple[tuple[float, float], ...] = GBT_50563_2010
                     ) -> sparse.csr_matrix:
    """Which candidate parks would cover which residential pieces, by straight-line distance.

    A piece is covered when its centroid lies within the candidate's tier radius (from
    ``size_m2``) of the candidate's geometry (polygon or point).

    Parameters
    ----------
    residential_pieces : from :func:`residential_pieces` (any polygons in the same CRS)
    candidates : candidate sites with ``size_m2`` and geometry
    radius_by_size : the park tiers

    Returns
    -------
    csr_matrix bool (pieces x candidates)
    """
    centres = shapely.centroid(np.asarray(residential_pieces.geometry.values, dtype=object))
    radius = tier_radius(candidates["size_m2"].to_numpy(), radius_by_size)
    counted = np.flatnonzero(radius > 0)
    sites = np.asarray(candidates.geometry.values, dtype=object)[counted]
    site, piece = shapely.STRtree(centres).query(sites, predicate="dwithin",
                                                 distance=radius[counted])
    return sparse.csr_matrix((np.ones(piece.size, dtype=bool), (piece, counted[site])),
                             shape=(centres.size, len(candidates)))


@dataclass(frozen=True)
class ParkSiting:
    """New parks for the official park figure (公园绿地服务半径覆盖率, DESIGN §3).

    Attributes
    ----------
    chosen : candidate rows (positions in ``candidates``), in the order the figure climbs
    official_before : the official figure with the existing parks (exact geometry)
    official_path : the official figure after each chosen park (exact geometry, straight-line
        buffers of the tier radius)
    coverage : the model's answer (shares from residential pieces; its ``solve`` says what the
        solver proved)
    target : the fewest-sites answer when sited to a target, else None
    target_share : the target asked for (None for a fixed number of parks)
    pieces : the residential pieces the model used (``area_m2``, ``covered``)
    """

    chosen: np.ndarray
    official_before: float
    official_path: np.ndarray
    coverage: CoverageResult
    target: TargetResult | None
    target_share: float | None
    pieces: gpd.GeoDataFrame

    @property
    def official_after(self) -> float:
        """The official figure with every chosen park built."""
        return float(self.official_path[-1]) if self.official_path.size else self.official_before

    @property
    def reached(self) -> bool | None:
        """Whether the official figure reaches the target (None without a target)."""
        if self.target_share is None:
            return None
        return self.official_after >= self.target_share - _TARGET_TOL


def park_siting(residential: gpd.GeoDataFrame, zone: shapely.Geometry | None,
                candidates: gpd.GeoDataFrame, *, k: int | None = None,
                target_share: float | None = None, piece_m: float = 50.0,
                radius_by_size: tuple[tuple[float, float], ...] = GBT_50563_2010,
                options: SolveOptions | None = None) -> ParkSiting:
    """The best ``k`` new parks, or the fewest new parks lifting the official park figure to
    ``target_share``, with the exact figure after each added park.

    The model covers a residential piece when its centroid is within a new park's radius
    (:func:`park_cover_pairs`); the figures reported are recomputed on exact geometry. When the
    exact figure of the fewest-sites answer falls short of the target by a hair (pieces cut by
    a buffer's edge), the model's target is raised by the shortfall and solved again (at most
    three more times).

    Parameters
    ----------
    residential : residential land polygons (metric CRS)
    zone : union of the existing parks' service zones (``ParkCoverage.zone``)
    candidates : candidate sites (:mod:`lifecircle.coverage.candidates`) with ``size_m2``
    k : number of new parks (MCLP); give this or ``target_share``
    target_share : the official figure to reach, 0..1
    piece_m : side of the grid cutting residential land into pieces
    radius_by_size : the tiers new parks get, (minimum area m², radius m) pairs
    options : solver choice, time limit and gap

    Returns
    -------
    ParkSiting
    """
    if (k is None) == (target_share is None):
        raise ValueError("give exactly one of k or target_share")
    pieces = residential_pieces(residential, zone, piece_m)
    cover = park_cover_pairs(pieces, candidates, radius_by_size)
    weights, already = pieces["area_m2"].to_numpy(), pieces["covered"].to_numpy()
    target = None
    if k is not None:
        coverage = mclp(weights, cover, already, k, options)
    else:
        asked = target_share
        for _ in range(4):
            target = target_mode(weights, cover, already, asked, options)
            coverage = target.sites
            before, path = park_figure_path(residential, zone, candidates.iloc[coverage.chosen],
                                            radius_by_size)
            short = target_share - (path[-1] if path.size else before)
            if not target.reached or short <= _TARGET_TOL or asked >= 1.0:
                break
            asked = min(asked + short, 1.0)
    before, path = park_figure_path(residential, zone, candidates.iloc[coverage.chosen],
                                    radius_by_size)
    return ParkSiting(chosen=coverage.chosen, official_before=before, official_path=path,
                      coverage=coverage, target=target, target_share=target_share,
                      pieces=pieces)


def park_figure_path(residential: gpd.GeoDataFrame, zone: shapely.Geometry | None,
                     new_parks: gpd.GeoDataFrame | None = None,
                     radius_by_size: tuple[tuple[float, float], ...] = GBT_50563_2010
                     ) -> tuple[float, np.ndarray]:
    """The official park figure on exact geometry as new parks are added one after another:
    residential area inside the service zone / residential area.

    Parameters
    ----------
    residential : residential land polygons (overlaps count once)
    zone : union of the existing parks' service zones (``ParkCoverage.zone``)
    new_parks : parks added in order (``size_m2`` sets the tier radius, geometry the buffer)
    radius_by_size : the tiers new parks get

    Returns
    -------
    (figure with existing parks, figure after each new park)
    """
    land = shapely.union_all(np.asarray(residential.geometry.values, dtype=object))
    total = shapely.area(land)
    served = shapely.Polygon() if zone is None else zone
    covered = shapely.area(shapely.intersection(land, served))
    before = _share(covered, total)
    if new_parks is None or new_parks.empty:
        return before, np.empty(0)
    rings = shapely.buffer(np.asarray(new_parks.geometry.values, dtype=object),
                           tier_radius(new_parks["size_m2"].to_numpy(), radius_by_size))
    path = []
    for ring in rings:                                  # one step per new park
        covered += shapely.area(shapely.intersection(shapely.difference(ring, served), land))
        served = shapely.union(served, ring)
        path.append(covered)
    return before, _share(np.asarray(path), total)


def _grid_pieces(land: np.ndarray, piece_m: float) -> np.ndarray:
    """``land`` intersected with the squares of a ``piece_m`` grid that touch its bounds."""
    if land.size == 0:
        return np.empty(0, dtype=object)
    bounds = shapely.bounds(land)
    lo = np.floor(bounds[:, :2] / piece_m).astype(np.int64)
    hi = np.maximum(np.ceil(bounds[:, 2:] / piece_m).astype(np.int64), lo + 1)
    nx, ny = hi[:, 0] - lo[:, 0], hi[:, 1] - lo[:, 1]
    owner = np.repeat(np.arange(land.size), nx * ny)
    step = np.arange(owner.size) - np.repeat(np.cumsum(nx * ny) - nx * ny, nx * ny)
    ix = lo[owner, 0] + step % nx[owner]
    iy = lo[owner, 1] + step // nx[owner]
    squares = shapely.box(ix * piece_m, iy * piece_m, (ix + 1) * piece_m, (iy + 1) * piece_m)
    shapely.prepare(land)
    hit = shapely.intersects(land[owner], squares)
    pieces = shapely.intersection(land[owner[hit]], squares[hit])
    return pieces[shapely.area(pieces) > 0]
