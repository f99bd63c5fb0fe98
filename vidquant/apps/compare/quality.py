"""Quality of the paired frames: PSNR, SSIM, flicker and colour counts, in one pass.

PSNR and flicker are measured on every paired frame. SSIM and unique colours are measured on
every frame up to :data:`SSIM_MAX_FRAMES` frames, and on every n-th frame beyond
(:func:`sample_stride`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np

from vidquant import metrics
from vidquant.apps.compare.pairing import FramePair
from vidquant.apps.compare.results import FrameScore, Quality
from vidquant.colours import count_colours
from vidquant.metrics import PSNR_CAP_DB

SSIM_MAX_FRAMES = 300  # SSIM and unique colours on every frame up to this many, then a stride


def capped_psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of ``b`` against ``a`` in dB, at most :data:`PSNR_CAP_DB`."""
    return min(PSNR_CAP_DB, metrics.psnr(a, b))


def sample_stride(frames: int) -> int:
    """Measure SSIM and colours on every n-th of ``frames`` frames: at most
    :data:`SSIM_MAX_FRAMES` of them."""
    return max(1, math.ceil(frames / SSIM_MAX_FRAMES))


class QualityAccumulator:
    """Running sums over the paired frames; holds only the previous pair's pixels.

    Parameters
    ----------
    stride
        SSIM and colours on source frames whose index is a multiple of this.
    worst
        How many lowest-PSNR frames :meth:`result` lists.
    reference_frames
        The references' window: :attr:`reference_end_s` tracks the end of its last paired frame.
    """

    def __init__(self, *, stride: int, worst: int, reference_frames: int) -> None:
        self._stride = stride
        self._worst_n = worst
        self._reference_frames = reference_frames
        self._scores: list[FrameScore] = []
        self._ssim: list[float] = []
        self._colours_src: list[int] = []
        self._colours_vq: list[int] = []
        self._still = self._pixels = 0
        self._change_src = self._change_vq = 0.0
        self._prev: FramePair | None = None
        self.ssim_too_small = False
        self.reference_end_s = 0.0  # end of the last paired frame of the reference window

    def add(self, pair: FramePair) -> None:
        """Measure one pair."""
        src, out = pair.source.rgb, pair.shown.rgb
        if pair.source.index < self._reference_frames:
            self.reference_end_s = pair.source.time_s + pair.source.duration_s
        score = capped_psnr(src, out)
        self._scores.append(
            FrameScore(pair.source.index, pair.shown.index, pair.source.time_s, score)
        )
        if pair.source.index % self._stride == 0:
            if min(src.shape[:2]) >= metrics.SSIM_WINDOW:
                self._ssim.append(metrics.ssim(src, out))
            else:
                self.ssim_too_small = True
            self._colours_src.append(count_colours(src))
            self._colours_vq.append(count_colours(out))
        prev = self._prev
        if prev is not None and prev.source.index == pair.source.index - 1:
            mask = metrics.still_mask(prev.source.rgb, src)
            still = int(np.count_nonzero(mask))
            self._pixels += mask.size
            if still:
                self._still += still
                self._change_src += still * metrics.mean_abs_change(prev.source.rgb, src, mask)
                self._change_vq += still * metrics.mean_abs_change(prev.shown.rgb, out, mask)
        self._prev = pair

    def result(self) -> Quality:
        """The measures over the pairs added so far."""
        scores = self._scores
        psnrs = [s.psnr_db for s in scores]
        worst = heapq.nsmallest(self._worst_n, scores, key=lambda s: (s.psnr_db, s.time_s))
        return Quality(
            psnr_mean_db=_mean(psnrs),
            psnr_min_db=min(psnrs) if psnrs else None,
            worst=tuple(worst),
            ssim_mean=_mean(self._ssim),
            sampled_frames=len(self._colours_src),
            sample_stride=self._stride,
            flicker_source=self._change_src / self._still if self._still else None,
            flicker_vq=self._change_vq / self._still if self._still else None,
            still_pct=100 * self._still / self._pixels if self._pixels else None,
            colours_source_mean=_mean(self._colours_src),
            colours_vq_mean=_mean(self._colours_vq),
            per_frame=tuple(scores),
        )


def _mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None
