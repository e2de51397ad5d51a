"""Reading the tables planners' offices produce: CSV in UTF-8 (BOM or not), GBK or Big5; Excel."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lifecircle.errors import InputError

# Amap and Baidu exports, and Excel's "CSV" on Chinese Windows, arrive in GBK (GB18030 covers
# it); tables from Taiwan and Hong Kong in Big5
ENCODINGS = ("utf-8-sig", "gb18030", "big5")


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
    encoding = detect_encoding(raw, path)
    try:
        return pd.read_csv(path, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"not a readable CSV ({str(exc).splitlines()[0]})") from None


def detect_encoding(raw: bytes, source: object = "text") -> str:
    """UTF-8 (BOM or not), GBK/GB18030 or Big5, from the bytes of a Chinese table.

    Nearly every Big5 byte pair is also a valid GBK pair, so decoding alone cannot tell them
    apart. Each reading is judged by its characters: a GBK reading should use only the common
    GB2312 hanzi and full-width punctuation, a Big5 reading only Big5's frequent hanzi (level 1)
    and symbols. When exactly one reading is plausible it wins; when both are, the text is
    ambiguous and refused.

    Raises
    ------
    InputError
        Neither UTF-8, GBK nor Big5; or both GBK and Big5 readings are plausible.
    """
    try:
        raw.decode("utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        as_gbk = raw.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(source, "text encoding is neither UTF-8, GBK nor Big5 (re-save it as "
                                  "UTF-8)") from None
    try:
        as_big5 = raw.decode("big5")
    except UnicodeDecodeError:
        return "gb18030"
    gbk_ok, big5_ok = _plausible(as_gbk, "gb2312", _GB2312_COMMON), \
        _plausible(as_big5, "big5", _BIG5_COMMON)
    if gbk_ok and not big5_ok:
        return "gb18030"
    if big5_ok and not gbk_ok:
        return "big5"
    sample = next((c for c in as_gbk if ord(c) > 127), "")
    raise InputError(source, "cannot tell whether the text is GBK (simplified) or Big5 "
                             f"(traditional) Chinese (e.g. {sample!r} in GBK): re-save it as "
                             "UTF-8 (an --encoding option would name it; not available yet)")


# byte ranges of the frequent characters: GB2312 full-width punctuation, letters and hanzi
# (rows A1-A3, B0-F7; not the kana rows A4-A5), Big5 symbols and level-1 hanzi (A140-C67E)
_GB2312_COMMON = ((0xA1A1, 0xA3FE), (0xB0A1, 0xF7FE))
_BIG5_COMMON = ((0xA140, 0xC67E),)


def _plausible(text: str, codec: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    """Every non-ASCII character of ``text`` encodes in ``codec`` to a pair within ``ranges``."""
    for char in set(text):
        if ord(char) < 128:
            continue
        try:
            code = int.from_bytes(char.encode(codec), "big")
        except UnicodeEncodeError:
            return False
        if not any(lo <= code <= hi for lo, hi in ranges):
            return False
    return True
