"""Quality of decoded frames against their source: per-frame PSNR and flicker."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vidquant.metrics import PSNR_CAP_DB


class Quality:
    """Per-frame PSNR and flicker over (source, test) pairs in order; holds one previous pair.

    Flicker is :func:`vidquant.metrics.flicker` (mean absolute change of the test frames over
    the pixels where the source stands still), weighted by the still pixels of each pair as
    ``vidquant compare`` weights it, so both report the same figure.
    """

    def __init__(self) -> None:
        from vidquant import metrics

        self._m = metrics
        self.psnrs: list[float] = []
        self._still = 0
        self._change = self._change_src = 0.0
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, src: np.ndarray, test: np.ndarray, *, consecutive: bool = True) -> None:
        m = self._m
        test = test[: src.shape[0], : src.shape[1]]
        self.psnrs.append(min(PSNR_CAP_DB, m.psnr(src, test)))
        if self._prev is not None and consecutive:
            ps, pt = self._prev
            mask = m.still_mask(ps, src)
            still = int(np.count_nonzero(mask))
            if still:
                self._still += still
                self._change += still * m.flicker(ps, src, pt, test)
                self._change_src += still * m.mean_abs_change(ps, src, mask)
        self._prev = (src, test)

    def result(self) -> dict[str, Any]:
        p = np.asarray(self.psnrs or [np.nan])
        return {
            "psnr_mean": float(p.mean()),
            "psnr_min": float(p.min()),
            "exact_frames": int((p >= PSNR_CAP_DB).sum()),
            "paired": len(self.psnrs),
            "flicker": self._change / self._still if self._still else float("nan"),
            "flicker_source": self._change_src / self._still if self._still else float("nan"),
        }


@functools.cache
def frame_count(clip: Path) -> int:
    """The clip's frames: from its header, or counted by decoding when the container does not
    say (FFmpeg's x11grab recordings in mkv); counted once per clip and run, as every measure of
    a clip needs it."""
    from vidquant.io.reader import VideoReader

    with VideoReader(clip) as r:
        return r.info.frames or sum(1 for _ in r)


def measure(clip: Path, open_test: Callable[[], Any], n_test: int) -> dict[str, Any]:
    """Quality of a decoded file against ``clip``: pairs by order when the frame counts match,
    else by display time (:class:`vidquant.apps.compare.TimePairing`)."""
    from vidquant.apps.compare import TimePairing
    from vidquant.io.reader import VideoReader

    q = Quality()
    with VideoReader(clip) as src, open_test() as test:
        n_src = frame_count(clip)
        frames = test.iter_rgb() if hasattr(test, "iter_rgb") else iter(test)
        if n_src == n_test:
            pairing = "frame order"
            for s, t in zip(src, frames, strict=False):
                q.add(s.rgb, t.rgb)
        else:
            pairing = f"display time ({n_test} frames vs {n_src} source frames)"
            last = -2
            for pair in TimePairing().iter_pairs(src, frames):
                q.add(pair.source.rgb, pair.shown.rgb, consecutive=pair.source.index == last + 1)
                last = pair.source.index
    return {**q.result(), "pairing": pairing}
