"""RGB images as PNG files, encoded by zlib without PNG's per-row filters (and as the JPEG copies
report.pdf prints, :func:`write_print_jpeg`).

Pillow's PNG encoder chooses a filter for every row (libpng's heuristic: each of the five
filters tried, the smallest sum kept) before deflating. On the run's figures (flat map colours,
white chart backgrounds) that search is about half of the encoding time and buys nothing:
deflate finds the repeated rows and runs itself. Measured on the central Chengdu figures
(1200 × 1200 px): Pillow at level 1 with ``Z_RLE`` 65 ms and 790 kB per map; unfiltered rows at
level 1 23 ms and 650 kB. The pixels are the same (PNG is lossless); any PNG reader opens the
file.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from lifecircle.output import atomic_file

#: zlib level (assumption: level 1 is 3x faster than the default 6 on the run's maps and
#: within a tenth of its size; measured on central Chengdu)
PNG_LEVEL = 1
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_bytes(rgb: np.ndarray) -> bytes:
    """A ``(height, width, 3)`` uint8 image as the bytes of an 8-bit RGB PNG file.

    Every row has filter type 0 (None); the rows are deflated as one zlib stream (PNG
    specification, ISO/IEC 15948 §9 and §10). zlib releases the GIL while it compresses, so
    figures encoded on several threads overlap.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> image = np.zeros((2, 3, 3), dtype=np.uint8); image[1, 2] = (255, 128, 0)
    >>> np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(image)))), image)
    True
    """
    image = np.asarray(rgb)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected (height, width, 3) uint8 RGB, got {image.dtype} "
                         f"{image.shape}")
    height, width = image.shape[:2]
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)  # first byte: filter type 0
    rows[:, 1:] = image.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"".join((_SIGNATURE, _chunk(b"IHDR", header),
                     _chunk(b"IDAT", zlib.compress(rows.data, PNG_LEVEL)), _chunk(b"IEND", b"")))


def write_png(path: str | Path, rgb: np.ndarray) -> Path:
    """Write :func:`png_bytes` of an image to ``path`` atomically; returns ``path``."""
    data = png_bytes(rgb)
    return atomic_file(Path(path), lambda tmp: tmp.write_bytes(data))


#: JPEG quality of the figures printed in report.pdf, without chroma subsampling (assumption:
#: 92 at 4:4:4 keeps the maps' one-pixel lines and small labels free of visible artefacts)
PRINT_JPEG_QUALITY = 92


def write_print_jpeg(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB image as the JPEG report.pdf prints (Chromium embeds a JPEG as it is, but
    deflates a PNG's pixels again: central Chengdu's 11 figures printed in 2.3 s as PNG, 1.2 s
    as JPEG); returns ``path``. Not atomic: it goes to a temporary print folder.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     jpeg = write_print_jpeg(Path(tmp) / "a.jpg", np.full((8, 8, 3), 200, np.uint8))
    ...     Image.open(jpeg).format, Image.open(jpeg).size
    ('JPEG', (8, 8))
    """
    from PIL import Image

    Image.fromarray(np.asarray(rgb), "RGB").save(path, quality=PRINT_JPEG_QUALITY, subsampling=0)
    return Path(path)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(data, zlib.crc32(kind)))
