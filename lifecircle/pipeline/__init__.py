"""The pipeline: a loaded study in, a :class:`RunResult` out (layers -> coverage -> pipeline)."""

from lifecircle.pipeline.result import RunResult
from lifecircle.pipeline.run import run

__all__ = ["RunResult", "run"]
