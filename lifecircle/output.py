"""Atomic output folders: everything is written to a temporary folder beside the target, then
swapped in, so an interrupted run leaves the previous result intact and never a half-written one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from lifecircle.errors import InputError


@contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target``.

    On any exception (or KeyboardInterrupt) the temporary folder is removed and ``target`` is
    left as it was.

    Raises
    ------
    InputError
        When the parent folder cannot be created or written.
    """
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise InputError(target, "exists and is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    except OSError as exc:
        raise InputError(target, f"cannot be written ({exc.strerror})") from None
    try:
        yield staging
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging``: the old folder is moved aside, then removed."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rmdir(old)
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError:
        if old is not None:
            os.rename(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    """Write JSON deterministically: sorted keys, NaN/inf as null, UTF-8 with Chinese kept."""
    text = json.dumps(_clean(data), ensure_ascii=False, indent=2, sort_keys=True)
    path.write_text(text + "\n", encoding="utf-8")


def write_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write GeoDataFrames as the layers of one GeoPackage (UTF-8; empty layers skipped).

    A ``fid`` column is written as ``facility_id``: GeoPackage reserves ``fid`` for its own key.
    """
    for name, frame in layers.items():
        if frame is None or frame.empty:
            continue
        frame.rename(columns={"fid": "facility_id"}).to_file(
            path, layer=name, driver="GPKG", engine="pyogrio"
        )


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV with a UTF-8 BOM so Excel on Chinese Windows opens Chinese names correctly."""
    frame.to_csv(path, index=False, encoding="utf-8-sig")


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, 10)
    return value
