"""Typed values that travel between the stages (no bare tuples across modules)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One RGB video frame with its timing.

    Attributes
    ----------
    index
        Position in presentation order, 0-based, no gaps.
    pts
        Presentation timestamp in ``time_base`` units; strictly increasing.
    duration
        How long the frame is shown, in ``time_base`` units (> 0).
    time_base
        Seconds per timestamp unit.
    rgb
        Pixels, shape (height, width, 3), dtype uint8, C-contiguous.
    """

    index: int
    pts: int
    duration: int
    time_base: Fraction
    rgb: np.ndarray

    @property
    def time_s(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)

    @property
    def duration_s(self) -> float:
        """Display duration in seconds."""
        return float(self.duration * self.time_base)


@dataclass(frozen=True)
class VideoInfo:
    """Facts about a source video stream, as far as its container tells them.

    Attributes
    ----------
    width, height
        Frame size of the frames the reader yields (after any resize), in pixels.
    fps
        Nominal frame rate (average rate where the container knows it), frames per second.
    time_base
        Seconds per timestamp unit of the stream.
    duration_s
        Stream duration in seconds, or None when the container does not say.
    frames
        Frame count the container declares, or 0 when unknown.
    codec
        Source codec name (e.g. ``h264``).
    pix_fmt
        Source pixel format (e.g. ``yuv420p``).
    source_width, source_height
        Size of the source frames before any resize.
    """

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    duration_s: float | None
    frames: int
    codec: str
    pix_fmt: str
    source_width: int
    source_height: int


@dataclass(frozen=True, eq=False)
class PaletteFrame:
    """One decoded (or reconstructed) palette frame: labels plus the palette they index.

    Attributes
    ----------
    index
        Position in presentation order, 0-based, no gaps.
    pts, duration
        Timing in ``time_base`` units.
    time_base
        Seconds per timestamp unit.
    labels
        Palette indices, shape (height, width), uint8, every value < len(palette).
    palette
        Colours, shape (k, 3), uint8. Shared with later frames only by copy.
    keyframe
        True when the frame was coded on its own (full palette, intra labels).
    """

    index: int
    pts: int
    duration: int
    time_base: Fraction
    labels: np.ndarray
    palette: np.ndarray
    keyframe: bool

    @property
    def time_s(self) -> float:
        """Presentation time in seconds."""
        return float(self.pts * self.time_base)

    def to_rgb(self) -> np.ndarray:
        """The frame's pixels, shape (height, width, 3), uint8, C-contiguous."""
        from vidquant.lookup import paint  # numba: only when pixels are wanted

        return paint(self.labels, self.palette)

    def to_frame(self) -> Frame:
        """The frame as an RGB :class:`Frame`."""
        return Frame(self.index, self.pts, self.duration, self.time_base, self.to_rgb())
