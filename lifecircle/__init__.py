"""lifecircle: walking access to public services, measured against China's new-type
urbanization targets (GB 50180-2018 life circles, GB/T 50563-2010 park service radius).

The public API (imported lazily, so ``lifecircle --help`` stays fast):

- :class:`RunConfig`: every input and parameter of a run;
- :class:`Study`: the loaded layers of one area (``Study.from_osm``, ``Study.from_frames``);
- :func:`run` -> :class:`RunResult` (``.metrics``, ``.targets``, ``.cells``, ``.to_folder``,
  ``.map()``);
- :func:`walk_coverage`: one walk-coverage figure from GeoDataFrames;
- :mod:`lifecircle.metrics`: the metric registry.

Examples
--------
>>> import lifecircle
>>> from lifecircle.data import sample_path
>>> study = lifecircle.Study.from_osm(sample_path(), residential_density=400,
...                                   kinds=["middle_school"])
>>> result = lifecircle.run(study)
>>> result.metrics.loc["walk_coverage.middle_school", "unit"]
'share'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lifecircle.lazy import lazy_exports

__version__ = "0.2.0"

_EXPORTS = {
    "RunConfig": "lifecircle.config",
    "Study": "lifecircle.layers.study",
    "run": "lifecircle.pipeline.run",
    "RunResult": "lifecircle.pipeline.result",
    "walk_coverage": "lifecircle.pipeline.quick",
    "LifecircleError": "lifecircle.errors",
}

__all__ = ["LifecircleError", "RunConfig", "RunResult", "Study", "__version__", "run",
           "walk_coverage"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from lifecircle.config import RunConfig
    from lifecircle.errors import LifecircleError
    from lifecircle.layers.study import Study
    from lifecircle.pipeline.quick import walk_coverage
    from lifecircle.pipeline.result import RunResult
    from lifecircle.pipeline.run import run


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())
