"""Siting models solved with HiGHS: maximal coverage (MCLP), the fewest sites to a coverage
target, and p-median (optionally capacitated), each on sparse coverage or cost pairs."""

from lifecircle.coverage.optimize.cover import (
    TARGET_TOL,
    CoverageResult,
    TargetResult,
    covered_share,
    mclp,
    split_cover,
    target_mode,
)
from lifecircle.coverage.optimize.median import MedianResult, p_median
from lifecircle.coverage.optimize.solver import SolveInfo, SolveOptions, share

__all__ = ["TARGET_TOL", "CoverageResult", "MedianResult", "SolveInfo", "SolveOptions",
           "TargetResult", "covered_share", "mclp", "p_median", "share", "split_cover",
           "target_mode"]
