"""Coverage siting: maximal coverage (MCLP) and the fewest sites reaching a coverage target,
with existing facilities fixed (DESIGN §5).

Models are built on SPARSE pairs, never on a dense cells x sites matrix: ``cover_pairs`` is a
sparse boolean (cells x candidates) matrix, a stored entry meaning the candidate would cover the
cell; ``already_covered`` marks the cells existing facilities cover. Weights are generic:
population per cell, or residential land area per piece for parks. Greedy answers carry the LP
relaxation and the submodularity bound ``f(S_t) + sum of the k largest marginal gains at S_t``
(which implies greedy >= (1 - 1/e) of the optimum).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from lifecircle.coverage.optimize.solver import (
    ON,
    Model,
    ModelRun,
    SolveInfo,
    SolveOptions,
    run_model,
    share,
    solve_info,
    tightest,
)

# relative slack on a coverage target, so a float rounding never calls a met target unmet
TARGET_TOL = 1e-9


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
        return share(self.covered_before, self.total_weight)

    @property
    def share_path(self) -> np.ndarray:
        """Covered share after each chosen site is added, in order."""
        return share(self.covered_before + np.cumsum(self.gain), self.total_weight)

    @property
    def share_after(self) -> float:
        """Covered share with every chosen site built."""
        return share(self.covered_before + float(self.gain.sum()), self.total_weight)


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
    return share(float(weights[np.asarray(already_covered, dtype=bool) | by_new].sum()),
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
        lp = run_model(_mclp_model(problem, k), options, relax=True)
        bound, source = tightest((greedy.bound, "greedy submodularity bound"),
                                (lp.objective, "LP relaxation"))
        info = solve_info("greedy", "heuristic", value, bound, source, started)
        return _coverage_result(problem, problem.candidates[greedy.chosen], info)
    run = run_model(_mclp_model(problem, k), options)
    bound, source = tightest((run.bound, "HiGHS dual bound"),
                             (greedy.bound, "greedy submodularity bound"))
    built = _at_least_greedy(problem, run, greedy.chosen)
    value = float(problem.weight @ _covered_rows(problem.cover, built))
    chosen = np.flatnonzero(built)
    info = solve_info("milp", run.status, value, bound, source, started)
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
    reachable = share(problem.covered_before + problem.coverable, problem.total_weight)
    reached = reachable >= target_share - TARGET_TOL
    goal = target_share if reached else reachable
    need = (goal * problem.total_weight - problem.covered_before) * (1.0 - TARGET_TOL)
    method = "greedy" if options.method == "greedy" else "milp"
    if need <= 0:
        why = "target met by existing facilities" if reached else "no candidate adds coverage"
        none = solve_info(method, "Optimal", 0.0, 0.0, why, started)
        return TargetResult(target_share, reachable, reached,
                            _coverage_result(problem, np.empty(0, np.int64), none), 0, none)
    n_cand = problem.cover.shape[1]
    greedy = _greedy_cover(problem.weight, problem.cover, need=need)
    if options.method == "greedy":
        lp = run_model(_count_model(problem, need), options, relax=True)
        lp_count = math.ceil(lp.objective - 1e-6)
        count = solve_info(method, "heuristic", float(greedy.chosen.size), float(lp_count),
                      "LP relaxation", started)
        sites = _coverage_result(problem, problem.candidates[greedy.chosen], count)
        return TargetResult(target_share, reachable, reached, sites, lp_count, count)
    run = run_model(_count_model(problem, need), options)
    fewest = _indicator(greedy.chosen, n_cand) > ON
    if run.x is not None and (run.x[:n_cand] > ON).sum() <= greedy.chosen.size:
        fewest = run.x[:n_cand] > ON
    min_sites = math.ceil(run.bound - 1e-6) if math.isfinite(run.bound) else 0
    count = solve_info(method, run.status, float(fewest.sum()), float(min_sites),
                       "HiGHS dual bound", started)
    # with that many sites, the set covering the most (never less than the fewest-sites answer)
    refine = run_model(_mclp_model(problem, int(fewest.sum())), options)
    refined = fewest if refine.x is None else refine.x[:n_cand] > ON
    value = float(problem.weight @ _covered_rows(problem.cover, refined))
    if value < float(problem.weight @ _covered_rows(problem.cover, fewest)):
        refined, value = fewest, float(problem.weight @ _covered_rows(problem.cover, fewest))
    sites = _coverage_result(problem, problem.candidates[np.flatnonzero(refined)],
                             solve_info(method, refine.status, value, refine.bound,
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


def _at_least_greedy(problem: _Coverage, run: ModelRun, greedy: np.ndarray) -> np.ndarray:
    """The built columns of a solve, or greedy's when the solve has nothing better (a time
    limit hit before HiGHS found a better solution)."""
    size = problem.cover.shape[1]
    start = _indicator(greedy, size) > ON
    if run.x is None:
        return start
    built = run.x[:size] > ON
    better = problem.weight @ _covered_rows(problem.cover, built) >= \
        problem.weight @ _covered_rows(problem.cover, start)
    return built if better else start


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


def _mclp_model(problem: _Coverage, k: int) -> Model:
    """max w.y  s.t.  y_r <= sum_j a_rj x_j,  sum x <= k,  x binary,  0 <= y <= 1."""
    n_rows, n_cand = problem.cover.shape
    links = sparse.hstack([-problem.cover, sparse.identity(n_rows)])
    card = sparse.hstack([np.ones((1, n_cand)), sparse.csr_matrix((1, n_rows))])
    return Model(
        cost=np.concatenate([np.zeros(n_cand), problem.weight]),
        matrix=sparse.vstack([links, card]).tocsc(),
        row_lo=np.full(n_rows + 1, -np.inf),
        row_hi=np.concatenate([np.zeros(n_rows), [float(k)]]),
        integer=np.arange(n_cand + n_rows) < n_cand,
        maximise=True,
    )


def _count_model(problem: _Coverage, need: float) -> Model:
    """min sum x  s.t.  y_r <= sum_j a_rj x_j,  w.y >= need,  x binary,  0 <= y <= 1."""
    n_rows, n_cand = problem.cover.shape
    links = sparse.hstack([-problem.cover, sparse.identity(n_rows)])
    goal = sparse.hstack([sparse.csr_matrix((1, n_cand)), problem.weight[None, :]])
    return Model(
        cost=np.concatenate([np.ones(n_cand), np.zeros(n_rows)]),
        matrix=sparse.vstack([links, goal]).tocsc(),
        row_lo=np.concatenate([np.full(n_rows, -np.inf), [need]]),
        row_hi=np.concatenate([np.zeros(n_rows), [np.inf]]),
        integer=np.arange(n_cand + n_rows) < n_cand,
        maximise=False,
    )




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
