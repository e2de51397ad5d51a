"""HiGHS models for siting: options, what a solve proved, and one solve call.

Models are solved by HiGHS through ``scipy.optimize.milp`` (public and silent). Callers start
from a greedy answer and keep it when HiGHS, stopped by the time limit, has nothing better, so a
time limit always leaves a solution at least as good as greedy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

# HiGHS column values above this count as "built"
ON = 0.5
_STATUS = {0: "Optimal", 1: "Time limit reached", 2: "Infeasible", 3: "Unbounded"}


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
class Model:
    """A linear model over columns in [0, 1]: cost, rows ``row_lo <= A x <= row_hi``, which
    columns are integer, and the sense."""

    cost: np.ndarray
    matrix: sparse.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    integer: np.ndarray
    maximise: bool


@dataclass(frozen=True)
class ModelRun:
    """A solve: the column values (None without a solution), objective, proven bound, status."""

    x: np.ndarray | None
    objective: float
    bound: float
    status: str


def run_model(model: Model, options: SolveOptions, *, relax: bool = False,
              fix: np.ndarray | None = None) -> ModelRun:
    """Solve with HiGHS through ``scipy.optimize.milp`` (silent, public API).

    Parameters
    ----------
    model : the model; every column lies in [0, 1]
    options : time limit and relative gap
    relax : solve the LP relaxation
    fix : values the leading integer columns are fixed to (the rest is an LP)

    Returns
    -------
    ModelRun; ``x`` is None when HiGHS found no solution within the time limit
    """
    n_cols = model.cost.size
    if n_cols == 0 or model.matrix.shape[0] == 0 and not model.integer.any():
        # nothing to choose: the only solution is optimal
        x = np.zeros(n_cols)
        value = float(model.cost @ x)
        return ModelRun(x=x, objective=value, bound=value, status="Optimal")
    col_lo, col_hi = np.zeros(n_cols), np.ones(n_cols)
    if fix is not None:
        col_lo[: fix.size] = fix
        col_hi[: fix.size] = fix
    integer = model.integer & (not relax) & (fix is None)
    sign = -1.0 if model.maximise else 1.0
    result = milp(sign * model.cost, integrality=integer.astype(np.int8),
                  bounds=Bounds(col_lo, col_hi),
                  constraints=LinearConstraint(model.matrix, model.row_lo, model.row_hi),
                  options={"time_limit": float(options.time_limit_s), "disp": False,
                           "mip_rel_gap": float(options.mip_rel_gap)})
    status = _STATUS.get(result.status, str(result.message))
    if result.x is None:
        return ModelRun(x=None, objective=math.nan, bound=math.nan, status=status)
    objective = sign * float(result.fun)
    dual = getattr(result, "mip_dual_bound", None)
    bound = sign * float(dual) if integer.any() and dual is not None else objective
    return ModelRun(x=np.asarray(result.x), objective=objective, bound=bound, status=status)


def solve_info(method: str, status: str, objective: float, bound: float, source: str,
               started: float) -> SolveInfo:
    """A SolveInfo with the gap computed, timed from ``started`` (``time.perf_counter()``)."""
    if objective == bound:
        gap = 0.0
    else:
        gap = abs(objective - bound) / abs(objective) if objective else math.inf
    return SolveInfo(method=method, status=status, objective=float(objective) + 0.0,
                     bound=float(bound) + 0.0, gap=float(gap), bound_source=source,
                     seconds=time.perf_counter() - started)


def tightest(*bounds: tuple[float, str]) -> tuple[float, str]:
    """The tightest of several upper bounds, with its source."""
    return min(bounds, key=lambda bound: bound[0])


def share(covered: float | np.ndarray, total: float) -> float | np.ndarray:
    """``covered / total``, NaN when the total is zero."""
    covered = np.asarray(covered, dtype=np.float64)
    share = np.minimum(covered / total, 1.0) if total > 0 else np.full(covered.shape, np.nan)
    return float(share) if share.ndim == 0 else share
