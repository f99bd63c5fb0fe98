"""The explorer's typed values: what a source is, what a result is, and the busy signal.

These travel between the explorer's rooms (:mod:`.sources` makes a :class:`SourceInfo`,
:class:`~vidquant.apps.explore.Explorer` a :class:`Result`, :mod:`.api` turns both into JSON),
so they live apart from all of them and import nothing of the explorer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from vidquant.errors import VidquantError

__all__ = ["Busy", "ExploreStats", "Result", "SourceFile", "SourceInfo"]

# A frame time within this fraction of a frame of the next frame's start is that frame: the
# page sends index / fps, which a decimal rendering may put a hair below the frame's start.
_SNAP_FRAMES = 1e-3


class Busy(VidquantError):
    """Too many requests already wait for the explorer's computing slots: ask again later."""


@dataclass(frozen=True)
class SourceFile:
    """A source named at start (a file, or a folder's picture or video), not yet read.

    Attributes
    ----------
    path
        The file.
    file_bytes
        Its size when the explorer started.
    """

    path: Path
    file_bytes: int


@dataclass(frozen=True)
class SourceInfo:
    """What the explorer shows of one source, once opened.

    Attributes
    ----------
    kind
        ``"image"`` for a still picture, ``"video"`` for a video (any frame can be picked).
    path
        The source file.
    file_bytes
        Size of the source file.
    width, height
        Size of the pictures quantised, pixels: the source's, or its preview's when larger
        than :data:`~vidquant.apps.explore.sources.PREVIEW_PX` on the long side.
    source_width, source_height
        Size of the source pictures, pixels.
    fps
        Nominal frame rate of a video (frames are picked on this grid); None for a still.
    frames
        Number of frames that can be picked (1 for a still).
    duration_s
        Length of a video, seconds; None for a still.
    video_bytes
        Payload bytes of a video's video stream (no audio, no container), or None for a still
        or when the packets could not be counted.
    """

    kind: str
    path: Path
    file_bytes: int
    width: int
    height: int
    source_width: int
    source_height: int
    fps: float | None
    frames: int
    duration_s: float | None
    video_bytes: int | None = None

    @property
    def preview(self) -> bool:
        """True when the figures are for a scaled preview, not the full-size picture."""
        return (self.width, self.height) != (self.source_width, self.source_height)

    def time_of(self, index: int) -> float:
        """Start of frame ``index`` (0-based), seconds; 0 for a still."""
        return index / self.fps if self.fps else 0.0

    def index_at(self, time_s: float) -> int:
        """The frame shown at ``time_s`` seconds (the last frame from its start on)."""
        if not self.fps:
            return 0
        return min(self.frames - 1, math.floor(time_s * self.fps + _SNAP_FRAMES))


@dataclass(frozen=True, eq=False)
class Result:
    """One frame quantised by one method, as the page shows it.

    Attributes
    ----------
    source
        The source's index in :attr:`vidquant.apps.explore.explorer.Explorer.files` (0-based).
    index, time_s
        The frame (0-based) and its start, seconds (0 for a still).
    k, method
        The palette size asked for and the palette method.
    psnr_db
        PSNR against the original (preview-size) picture, dB; inf when identical.
    colours_before, colours_after
        Distinct colours in the original and in the quantised picture.
    png
        The quantised picture as an optimised indexed PNG file.
    fit_s, assign_s
        Seconds spent finding the palette and labelling the pixels.
    """

    source: int
    index: int
    time_s: float
    k: int
    method: str
    psnr_db: float
    colours_before: int
    colours_after: int
    png: bytes
    fit_s: float
    assign_s: float


@dataclass(frozen=True)
class ExploreStats:
    """Counts of the work an :class:`Explorer` did (a snapshot).

    Attributes
    ----------
    frames_read
        Frames read from the source (cache misses).
    quantize_runs
        Pictures quantised (cache misses), prefetches included.
    result_hits
        Requests answered from the result cache.
    prefetched
        Results computed in the background for neighbouring k values.
    refused
        Requests turned away because too many were already waiting for a computing slot.
    prefetch_skipped
        Background computations left out because no slot was free for them.
    """

    frames_read: int
    quantize_runs: int
    result_hits: int
    prefetched: int
    refused: int
    prefetch_skipped: int
