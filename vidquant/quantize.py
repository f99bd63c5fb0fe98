"""Nearest-palette assignment through a 3-D lookup table, with temporal stickiness.

The table has one cell per 4x4x4 block of 8-bit RGB (64**3 cells) holding the palette entry nearest
to the block's centre. It is built from the palette exactly as the decoder sees it (8-bit RGB), so
the encoder's reconstruction ``palette[labels]`` is the decoder's output bit for bit. Within a
block the centre's choice can differ from a pixel's own nearest entry only near the boundary
between two entries, where both are almost equally near (at most about 3.5 levels apart).
When a few entries change (a palette delta), only the affected cells are recomputed.
"""

from __future__ import annotations

import numpy as np

_BITS = 6
_SHIFT = 8 - _BITS
_SIDE = 1 << _BITS
_CELLS = _SIDE**3
_CHUNK = 1 << 15  # cells per distance block: bounds temporary memory to CHUNK * k floats


def _cell_centres() -> np.ndarray:
    axis = (np.arange(_SIDE, dtype=np.float32) * (1 << _SHIFT)) + ((1 << _SHIFT) - 1) / 2
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    return np.stack([r.ravel(), g.ravel(), b.ravel()], axis=1)


def cell_index(rgb: np.ndarray) -> np.ndarray:
    """Lookup-table cell of every pixel of ``rgb`` ((..., 3) uint8), as a flat int32 array."""
    flat = rgb.reshape(-1, 3)
    r = flat[:, 0].astype(np.int32)
    g = flat[:, 1].astype(np.int32)
    b = flat[:, 2].astype(np.int32)
    r >>= _SHIFT
    g >>= _SHIFT
    b >>= _SHIFT
    r <<= 2 * _BITS
    g <<= _BITS
    r |= g
    r |= b
    return r


class Quantizer:
    """Map pixels to palette labels.

    Call :meth:`set_palette` when the palette changes, then :meth:`assign` per frame.
    """

    def __init__(self) -> None:
        self._centres = _cell_centres()
        self._centre_norm = (self._centres**2).sum(axis=1)
        self.palette = np.zeros((0, 3), np.uint8)
        self._lut = np.zeros(_CELLS, np.uint8)
        self._best = np.full(_CELLS, np.inf, np.float32)

    def set_palette(self, palette: np.ndarray) -> None:
        """Use ``palette`` ((k, 3) uint8) from now on, updating the table where it changed."""
        palette = np.ascontiguousarray(palette, dtype=np.uint8)
        if palette.shape != self.palette.shape:
            self.palette = palette.copy()
            self._rebuild(np.arange(_CELLS))
            return
        changed = np.flatnonzero(np.any(palette != self.palette, axis=1))
        if changed.size == 0:
            return
        self.palette = palette.copy()
        if changed.size > len(palette) // 4:
            self._rebuild(np.arange(_CELLS))
            return
        # Cells whose entry moved may now be nearer to any entry: recompute them fully.
        stale = np.flatnonzero(np.isin(self._lut, changed.astype(np.uint8)))
        self._rebuild(stale)
        # Every other cell only needs to know whether a moved entry came nearer than its best.
        pal = palette[changed].astype(np.float32)
        for start in range(0, _CELLS, _CHUNK):
            sl = slice(start, start + _CHUNK)
            d = self._distances(self._centres[sl], self._centre_norm[sl], pal)
            j = d.argmin(axis=1)
            dj = d[np.arange(len(j)), j]
            # ties go to the lower index, as in a full rebuild
            best = self._best[sl]
            closer = (dj < best) | ((dj == best) & (changed[j] < self._lut[sl]))
            if closer.any():
                self._lut[sl][closer] = changed[j[closer]]
                self._best[sl][closer] = dj[closer]

    @staticmethod
    def _distances(points: np.ndarray, norms: np.ndarray, pal: np.ndarray) -> np.ndarray:
        return norms[:, None] - 2.0 * points @ pal.T + (pal**2).sum(axis=1)[None, :]

    def _rebuild(self, cells: np.ndarray) -> None:
        pal = self.palette.astype(np.float32)
        for start in range(0, len(cells), _CHUNK):
            idx = cells[start : start + _CHUNK]
            d = self._distances(self._centres[idx], self._centre_norm[idx], pal)
            j = d.argmin(axis=1)
            self._lut[idx] = j
            self._best[idx] = d[np.arange(len(j)), j]

    def assign(
        self,
        rgb: np.ndarray,
        previous: np.ndarray | None = None,
        *,
        stickiness: float = 0.0,
    ) -> np.ndarray:
        """Labels ((height, width) uint8) for ``rgb`` ((height, width, 3) uint8).

        Parameters
        ----------
        previous
            The previous frame's labels; where given and ``stickiness`` > 0, a pixel keeps its
            previous label while that colour is at most ``stickiness`` (8-bit RGB, Euclidean)
            farther from the pixel than the best colour. Still areas then keep their labels
            through sensor noise: fewer bits and no flicker.
        """
        height, width = rgb.shape[:2]
        labels = self._lut[cell_index(rgb)]
        if previous is not None and stickiness > 0:
            prev = previous.reshape(-1)
            moved = np.flatnonzero(labels != prev)
            if moved.size:
                px = rgb.reshape(-1, 3)[moved].astype(np.int32)
                pal = self.palette.astype(np.int32)
                d_new = ((px - pal[labels[moved]]) ** 2).sum(axis=1)
                d_old = ((px - pal[prev[moved]]) ** 2).sum(axis=1)
                keep = np.sqrt(d_old) <= np.sqrt(d_new) + stickiness
                labels[moved[keep]] = prev[moved[keep]]
        return labels.reshape(height, width)
