"""p-median siting (optionally capacitated): new sites minimising demand-weighted walking
distance, existing sites kept (DESIGN §5).

``cost_pairs`` is a sparse (cells x sites) matrix of walking distances: stored entries are the
only allowed assignments (a distance of 0 is stored as a tiny positive number, as
:func:`lifecircle.coverage.engine.cost_pairs` does). Greedy answers carry the LP bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from lifecircle.coverage.optimize.solver import (
    ON,
    Model,
    SolveInfo,
    SolveOptions,
    run_model,
    solve_info,
)


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
    start = np.zeros(problem.candidates.size)
    start[greedy] = 1.0
    if options.method == "greedy":
        lp = run_model(model, options, relax=True)
        fixed = run_model(model, options, fix=start)
        info = solve_info("greedy", "heuristic", fixed.objective + problem.constant,
                          lp.objective + problem.constant, "LP relaxation", started)
        x = fixed.x
    else:
        run = run_model(model, options)
        x, objective = run.x, run.objective
        if run.status != "Optimal":  # a time limit: keep greedy unless HiGHS found better
            fixed = run_model(model, options, fix=start)
            if run.x is None or fixed.objective < run.objective:
                x, objective = fixed.x, fixed.objective
        info = solve_info("milp", run.status, objective + problem.constant,
                          run.bound + problem.constant, "HiGHS dual bound", started)
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


def _median_model(problem: _Median, k: int) -> Model:
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
    return Model(
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
    chosen = problem.candidates[x[:n_x] > ON]
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
