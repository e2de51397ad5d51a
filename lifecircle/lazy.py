"""Names of a package imported when first used (PEP 562 module ``__getattr__``).

A package re-exports functions whose modules pull in heavy libraries (geopandas, matplotlib,
folium); binding them lazily keeps ``import lifecircle`` and ``lifecircle --help`` light.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str],
                 namespace: dict[str, Any]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a name to the module defining
    it; the first use imports that module and binds the name in ``namespace`` (the package's
    ``globals()``), so later uses are plain lookups.

    Examples
    --------
    >>> namespace = {}
    >>> getattr_ = lazy_exports("pkg", {"sqrt": "math"}, namespace)
    >>> getattr_("sqrt")(9.0), "sqrt" in namespace
    (3.0, True)
    """
    def attribute(name: str) -> Any:
        if name in exports:
            value = namespace[name] = getattr(import_module(exports[name]), name)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return attribute
