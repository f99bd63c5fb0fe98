"""What an indexed PNG is made of, and what the same pixels cost with one plain writer."""

from __future__ import annotations

import math
import struct
import zlib
from collections import Counter
from typing import Any

import numpy as np

PNG_FILTERS = ("none", "sub", "up", "average", "paeth")  # PNG row filter types 0..4


def png_layout(png: bytes) -> dict[str, Any]:
    """Bit depth, palette entries, IDAT bytes and the row filters an indexed PNG uses.

    The filters matter for size: PNG's filters predict a byte from its neighbours, which fits
    smooth true-colour pictures, not palette indices (the PNG spec recommends filter none for
    indexed images).
    """
    pos, chunks = 8, []
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8].decode("latin-1"), png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    idat = b"".join(body for kind, body in chunks if kind == "IDAT")
    plte = sum(len(body) for kind, body in chunks if kind == "PLTE")
    filters: dict[str, int] | None = None
    if not interlace:  # an interlaced image's rows are spread over seven passes
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
        stride = 1 + math.ceil(width * depth * channels / 8)
        raw = zlib.decompress(idat)
        counts = Counter(raw[row * stride] for row in range(height))
        filters = {PNG_FILTERS[f]: n for f, n in sorted(counts.items())}
    return {
        "bit_depth": depth,
        "palette_entries": plte // 3,
        "idat_bytes": len(idat),
        "other_chunks": sorted({kind for kind, _ in chunks} - {"IHDR", "PLTE", "IDAT", "IEND"}),
        "filters": filters,
    }


def layout_label(layout: dict[str, Any]) -> str:
    """``4-bit adaptive``, ``8-bit none``: the PNG's bit depth and its row filters."""
    filters = layout["filters"]
    kind = "?" if filters is None else (next(iter(filters)) if len(filters) == 1 else "adaptive")
    return f"{layout['bit_depth']}-bit {kind}"


def plain_png_bytes(indices: np.ndarray, entries: int) -> int:
    """Size of an indexed PNG of ``indices`` with an RGB palette of ``entries`` colours, written
    at the smallest bit depth that holds them, filter none on every row, zlib level 9.

    The same writer for every quantiser's output: the size its palette, indices and index
    order cost, apart from the choices of the PNG writer it came with.
    """
    depth = next(d for d in (1, 2, 4, 8) if entries <= 1 << d)
    per_byte = 8 // depth
    height, width = indices.shape
    padded = np.pad(indices.astype(np.uint8), ((0, 0), (0, -width % per_byte)))
    groups = padded.reshape(height, -1, per_byte)
    shifts = (np.arange(per_byte)[::-1] * depth).astype(np.uint8)
    packed = np.bitwise_or.reduce(groups << shifts, axis=2).astype(np.uint8)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), packed], axis=1)
    idat = zlib.compress(rows.tobytes(), 9)
    # signature 8, IHDR 12 + 13, PLTE 12 + 3 per entry, IDAT 12 + data, IEND 12
    return 8 + 25 + 12 + 3 * entries + 12 + len(idat) + 12
