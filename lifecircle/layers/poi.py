"""Amap (高德) and Baidu POI exports: their type codes and type names mapped to the product's
kinds with the table ``poi_types`` of ``seeds/standards.yaml``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lifecircle.errors import InputError
from lifecircle.seeds import load_standards

# column names as Amap, Baidu and Chinese-language exports spell them
NAME_COLUMNS = ("name", "名称", "poi名称", "title")
TYPE_COLUMNS = ("type", "类型", "tag", "分类", "poi类型")
TYPECODE_COLUMNS = ("typecode", "类型编码", "type_code", "分类编码")


def is_poi_export(frame: pd.DataFrame) -> bool:
    """A table with POI type columns and no ``kind`` column is a POI export."""
    columns = {str(c).strip().lower() for c in frame.columns}
    return "kind" not in columns and bool(columns & {*TYPE_COLUMNS, *TYPECODE_COLUMNS})


def kinds_from_poi_types(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add ``kind`` and ``name`` columns from the POI type code / type text.

    Returns
    -------
    (mapped rows only, unmatched type -> count): POIs of other types (a bank, a restaurant) are
    counted by type so the user sees what was left out.
    """
    lower = {str(c).strip().lower(): c for c in frame.columns}
    name_col = next((lower[c] for c in NAME_COLUMNS if c in lower), None)
    if name_col is None:
        raise InputError(path, f"POI export needs a name column ({', '.join(NAME_COLUMNS)})")
    type_col = next((lower[c] for c in TYPE_COLUMNS if c in lower), None)
    code_col = next((lower[c] for c in TYPECODE_COLUMNS if c in lower), None)
    types = frame[type_col].fillna("").astype(str) if type_col else pd.Series("", index=frame.index)
    codes = (frame[code_col].fillna("").astype(str).str.replace(r"\.0$", "", regex=True)
             .str.zfill(6) if code_col else pd.Series("", index=frame.index))
    segments = types.str.split(r"[;|；]")
    names = frame[name_col].fillna("").astype(str)
    kind = pd.Series(None, index=frame.index, dtype=object)
    for rule in load_standards()["poi_types"]:
        open_rows = kind.isna()
        by_code = codes.str.startswith(tuple(rule["typecodes"])) if rule["typecodes"] else False
        wanted = set(rule["types"])
        by_type = segments.map(lambda parts, wanted=wanted: bool(wanted & set(parts)))
        hit = open_rows & (by_code | by_type)
        if rule.get("names"):  # the name decides between kinds that share a type
            hit &= names.str.contains(rule["names"], regex=True, na=False)
        kind[hit] = rule["kind"]
    unmatched = kind.isna()
    labels = np.where(types[unmatched] != "", types[unmatched], codes[unmatched])
    left_out = pd.Series(labels, dtype=object).value_counts().to_dict()
    mapped = frame.loc[~unmatched].assign(kind=kind[~unmatched],
                                          name=frame.loc[~unmatched, name_col].astype(str))
    return mapped, {str(k): int(v) for k, v in left_out.items()}
