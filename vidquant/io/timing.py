"""Frame timing for the reader: decoded timestamps in, output frame times out.

Pure arithmetic on timestamps in a stream's time-base units, with no PyAV in it, so that it
tests without FFmpeg. Two clocks meet here: the *file's clock* (a stream's own pts) and the
*output clock*, on which the first frame yielded starts at 0. Between them:

1. :func:`iter_stamped` makes the decoder's timestamps usable: every frame gets a pts, strictly
   increasing, and a duration > 0.
2. :func:`iter_from_start` drops the frames before the one on screen at the start time.
3. :class:`OutputClock` rebases the rest to start at 0, lets each frame last until the next one
   starts (the last keeps its own duration: variable frame rate survives) and leaves out the
   frames after the span asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class Timestamped(Protocol):
    """What :func:`iter_stamped` reads of a decoded frame (PyAV's ``VideoFrame`` has both)."""

    @property
    def pts(self) -> int | None: ...

    @property
    def duration(self) -> int | None: ...


F = TypeVar("F", bound=Timestamped)


@dataclass(frozen=True)
class Stamped(Generic[T]):
    """A decoded frame with usable timing on the file's clock.

    Attributes
    ----------
    pts
        Presentation time on the file's clock, time-base units; strictly increasing.
    duration
        Display time, time-base units, > 0 (the decoder's own, or one nominal frame).
    frame
        The decoded frame.
    """

    pts: int
    duration: int
    frame: T


@dataclass(frozen=True)
class OutputFrame(Generic[T]):
    """A frame placed on the output clock.

    Attributes
    ----------
    index
        Position in the output, 0-based, no gaps.
    pts
        Presentation time on the output clock (0 = the first frame's start), time-base units.
    duration
        Until the next frame starts; the last frame keeps its own. Time-base units, > 0.
    frame
        The frame, as given to :meth:`OutputClock.push`.
    """

    index: int
    pts: int
    duration: int
    frame: T


def nominal_duration(fps: Fraction, time_base: Fraction) -> int:
    """One frame at the nominal rate ``fps``, in ``time_base`` units (at least 1)."""
    return max(1, round(1 / (fps * time_base)))


def start_pts(start_s: float, time_base: Fraction, stream_start: int) -> int | None:
    """The first pts (file's clock) to keep for a start ``start_s`` seconds after the stream's
    start ``stream_start`` (pts); None when ``start_s <= 0``: keep every frame."""
    if start_s <= 0:
        return None
    return stream_start + int(start_s / time_base)


def iter_stamped(frames: Iterable[F], nominal: int) -> Iterator[Stamped[F]]:
    """Decoded ``frames`` with usable timing (see :class:`Stamped`).

    A frame without a pts gets the previous one's plus ``nominal`` (the first: 0); a pts that
    does not increase becomes the previous one's plus 1; a missing or non-positive duration
    becomes ``nominal``.
    """
    last_pts: int | None = None
    for frame in frames:
        pts = frame.pts
        if pts is None:
            pts = (last_pts + nominal) if last_pts is not None else 0
        if last_pts is not None and pts <= last_pts:
            pts = last_pts + 1  # keep timestamps strictly increasing
        last_pts = pts
        duration = frame.duration if frame.duration and frame.duration > 0 else nominal
        yield Stamped(pts, duration, frame)


def iter_from_start(stamped: Iterator[Stamped[T]], start: int | None) -> Iterator[Stamped[T]]:
    """Leave out the frames before the one on screen at ``start`` (pts, file's clock; None:
    leave out none). That frame may start before ``start``."""
    if start is None:
        yield from stamped
        return
    held = None  # the last frame that starts before start
    for item in stamped:
        if item.pts < start:
            held = item
            continue
        if held is not None and item.pts > start:
            yield held
        yield item
        yield from stamped
        return
    if held is not None and held.pts + held.duration > start:
        yield held  # start falls inside the last frame


class OutputClock(Generic[T]):
    """Places frames read in presentation order on the output clock.

    The first frame :meth:`push`-ed starts at 0; each frame lasts until the next one starts,
    so a frame is complete (returned) only when the next one arrives, and :meth:`finish`
    returns the last, with its own duration. With ``duration_s``, a frame that starts that
    long after the first is past the span: check :meth:`past_end` before pushing.

    Parameters
    ----------
    time_base
        Seconds per timestamp unit.
    duration_s
        Length of the span to keep, seconds from the first frame's start (None: to the end).

    Attributes
    ----------
    first_pts
        The first frame's pts on the file's clock (output time 0); None until one is pushed.
    end_pts
        Where the span ends on the file's clock (a frame starting there is past it); None
        without ``duration_s`` or before the first frame.
    """

    def __init__(self, time_base: Fraction, *, duration_s: float | None = None) -> None:
        self.time_base = time_base
        self.duration_s = duration_s
        self.first_pts: int | None = None
        self.end_pts: float | None = None
        self._pending: Stamped[T] | None = None  # output clock; its end is not known yet
        self._index = 0

    def start(self, pts: int) -> None:
        """Make ``pts`` (file's clock) output time 0; the first :meth:`push` does it too."""
        self.first_pts = pts
        if self.duration_s is not None:
            self.end_pts = pts + self.duration_s / self.time_base

    def past_end(self, pts: int) -> bool:
        """True when a frame starting at ``pts`` (file's clock) falls after the span."""
        return self.end_pts is not None and pts >= self.end_pts

    def push(self, pts: int, duration: int, frame: T) -> OutputFrame[T] | None:
        """Add the next frame (file's clock); return the previous one, now that it is complete
        (None for the first frame)."""
        if self.first_pts is None:
            self.start(pts)
        previous = self._pending
        self._pending = Stamped(pts - self.first_pts, duration, frame)  # on the output clock
        if previous is None:
            return None
        return self._place(previous, self._pending.pts - previous.pts)

    def finish(self) -> OutputFrame[T] | None:
        """The last frame, with its own duration (None when no frame was pushed)."""
        last, self._pending = self._pending, None
        return None if last is None else self._place(last, last.duration)

    def _place(self, item: Stamped[T], duration: int) -> OutputFrame[T]:
        placed = OutputFrame(self._index, item.pts, duration, item.frame)
        self._index += 1
        return placed


def describe_times(times: list[float], *, limit: int = 10) -> str:
    """``"0.25 s, 0.58 s and 1.50 s"``: times in seconds for a message, at most ``limit``
    of them (then ``"and N more"``)."""
    shown = [f"{t:.2f} s" for t in times[:limit]]
    if len(times) > limit:
        return ", ".join(shown) + f" and {len(times) - limit} more"
    if len(shown) > 1:
        return ", ".join(shown[:-1]) + " and " + shown[-1]
    return "".join(shown)
