"""Measure a ``.vq`` against its original: sizes, bitrates, quality (``vidquant compare``).

Frames are paired by time, not by position: each source frame is compared with the ``.vq`` frame
on screen at the source frame's timestamp, with half a source frame of slack for rounded
timestamps. Source frames with no ``.vq`` frame on screen, ``.vq`` frames held over several
source frames and ``.vq`` frames never on screen are counted and reported in
:attr:`Comparison.warnings`, never silently skipped.

The source is read the way the encoder read it, from the settings stored in the ``.vq`` header
(``start_s``, ``duration_s``, ``width``), so that a clip encoded from 5 s and resized is compared
with that part of the original at that size.

Cost bounds: PSNR and flicker are measured on every paired frame. SSIM and unique colours are
measured on every frame up to :data:`SSIM_MAX_FRAMES` frames, and on every n-th frame beyond
(:attr:`Quality.sample_stride`). References encode at most the first
:data:`REFERENCE_MAX_FRAMES` source frames; the H.264 CRF search costs at most
``CRF_MAX_TRIALS`` encodes of that window.

The rooms, in the data's order:

- :mod:`~vidquant.apps.compare.source`: the part of the original the ``.vq`` was encoded from;
- :mod:`~vidquant.apps.compare.pairing`: frames paired by time, and what could not be paired;
- :mod:`~vidquant.apps.compare.quality`: PSNR, SSIM, flicker and colours over the pairs;
- :mod:`~vidquant.apps.compare.references`: the H.264 and GIF encodes for scale;
- :mod:`~vidquant.apps.compare.run`: :func:`compare_files` and :func:`stills_at`;
- :mod:`~vidquant.apps.compare.results`: the frozen values they return;
- :mod:`~vidquant.apps.compare.report`: the table, the JSON, the plot and the stills
  (``vidquant compare``'s output; imported on its own, it is not loaded here).
"""

from __future__ import annotations

from vidquant.apps.compare.pairing import TimePairing
from vidquant.apps.compare.results import (
    Comparison,
    FrameBits,
    FrameScore,
    OriginalFacts,
    Pairing,
    Quality,
    Ratios,
    Reference,
    Still,
)
from vidquant.apps.compare.run import compare_files, stills_at

__all__ = [
    "Comparison",
    "FrameBits",
    "FrameScore",
    "OriginalFacts",
    "Pairing",
    "Quality",
    "Ratios",
    "Reference",
    "Still",
    "TimePairing",
    "compare_files",
    "stills_at",
]
