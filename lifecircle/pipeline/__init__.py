"""The pipeline: a loaded study in, a :class:`RunResult` out (layers -> coverage -> pipeline)."""

from lifecircle.pipeline.result import RunResult, import_writers
from lifecircle.pipeline.run import run

__all__ = ["RunResult", "import_writers", "run"]
