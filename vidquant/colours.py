"""RGB colours as numbers: packing, distinct colours and nearest palette entries, written once.

Every colour here is 8-bit RGB, shape (n, 3) uint8 (or (..., 3) for a picture). A packed colour
is ``r << 16 | g << 8 | b`` in an int32, which sorts and compares as the triplet does.
"""

from __future__ import annotations

import numpy as np

# Chunks of at most this many pixel x entry elements bound a search's temporaries (16 MiB of
# float32), whatever the picture's size.
_CHUNK_ELEMENTS = 1 << 22


def pack_rgb(colours: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 colours -> ``(n,)`` int32, one number per colour."""
    c = colours.reshape(-1, 3).astype(np.int32)
    return (c[:, 0] << 16) | (c[:, 1] << 8) | c[:, 2]


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """The inverse of :func:`pack_rgb`: ``(n,)`` integers -> ``(n, 3)`` uint8."""
    p = np.asarray(packed)
    return np.stack([p >> 16, (p >> 8) & 255, p & 255], axis=1).astype(np.uint8)


# Above this many colours a bitmap over the 2**24 colours beats sorting: it is linear in the
# pixels (a 10 MP photo in 0.1 s, where np.unique over rows took 10 s), but clearing its 16 MiB
# costs more than sorting a frame's sample of a few thousand packed colours (the crossover was
# 40-50 thousand; a 640x360 frame: 21 ms sorted, 6 ms by the bitmap).
_BITMAP_ABOVE = 1 << 15


def _distinct_packed(colours: np.ndarray) -> np.ndarray:
    packed = pack_rgb(colours)
    if len(packed) <= _BITMAP_ABOVE:
        return np.unique(packed)
    seen = np.zeros(1 << 24, dtype=bool)
    seen[packed] = True
    return np.flatnonzero(seen)


def distinct_colours(colours: np.ndarray) -> np.ndarray:
    """The distinct colours of ``colours`` ((..., 3) uint8), (m, 3) uint8, sorted by R, then G,
    then B (as ``np.unique(colours, axis=0)`` sorts them, far faster)."""
    return unpack_rgb(_distinct_packed(colours))


def count_colours(colours: np.ndarray) -> int:
    """How many distinct colours ``colours`` ((..., 3) uint8) holds."""
    return len(_distinct_packed(colours))


def colour_histogram(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct colours of ``rgb`` ((..., 3) uint8), how many pixels have each, and each
    pixel's colour number: ``(colours (n, 3) uint8, counts (n,) int64, inverse (pixels,))``."""
    values, inverse, counts = np.unique(pack_rgb(rgb), return_inverse=True, return_counts=True)
    return unpack_rgb(values), counts, inverse.reshape(-1)


def squared_distances(points: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances, float64, between ``points`` (n, 3) and ``palette``.

    ``|x - p|^2 = |x|^2 - 2 x.p + |p|^2`` through one matrix product (a broadcast difference
    would build an n x k x 3 array). In float64 every term of 8-bit colours, or of points on a
    quarter-level grid, is exact, so ties break by index as a direct difference would.
    """
    x = np.asarray(points, dtype=np.float64)
    pal = np.asarray(palette, dtype=np.float64)
    d = (x * x).sum(axis=1)[:, None] - 2.0 * (x @ pal.T) + (pal * pal).sum(axis=1)[None, :]
    return np.maximum(d, 0.0, out=d)


def nearest_entries(colours: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Exact nearest palette entry (lowest index on ties) of ``colours`` ((n, 3) uint8), uint8.

    ``|c - p|^2`` ranks entries as ``|p|^2 - 2 c.p`` does; every term is an integer below
    2**24, so float32 matrix products (BLAS) compute it exactly, in chunks of bounded size.
    """
    pal = np.ascontiguousarray(palette, dtype=np.float32)
    norms = (pal * pal).sum(axis=1)
    out = np.empty(len(colours), np.uint8)
    step = max(1, _CHUNK_ELEMENTS // len(pal))
    for start in range(0, len(colours), step):
        x = colours[start : start + step].astype(np.float32)
        d = norms[None, :] - 2.0 * (x @ pal.T)
        out[start : start + step] = d.argmin(axis=1)
    return out
