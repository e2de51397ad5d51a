"""Reading the tables planners' offices produce: CSV in UTF-8 (BOM or not) or GBK, Excel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lifecircle.errors import InputError

# Amap and Baidu exports, and Excel's "CSV" on Chinese Windows, arrive in GBK (GB18030 covers it)
ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (encoding detected among UTF-8 and GBK/GB18030) or an Excel sheet.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown encoding, or an empty table.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    if path.suffix.lower() in (".xlsx", ".xls"):
        try:
            frame = pd.read_excel(path)
        except (ImportError, ValueError, OSError) as exc:
            raise InputError(path, f"not a readable Excel file ({exc})") from None
    else:
        frame = _read_csv(path)
    if frame.empty:
        raise InputError(path, "has no rows")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        try:
            return pd.read_csv(path, encoding=encoding)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(path, f"not a readable CSV ({str(exc).splitlines()[0]})") from None
    raise InputError(path, "text encoding is neither UTF-8 nor GBK")
