"""Pairing by time: each source frame meets the other video's frame on screen at its time.

Frames are paired by time, not by position, with half a source frame of slack for rounded
timestamps. What cannot be paired is counted (:class:`~vidquant.apps.compare.results.Pairing`)
and told in :func:`pairing_warnings`, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vidquant.apps.compare.results import Pairing
from vidquant.frames import Frame


@dataclass(frozen=True, eq=False)
class FramePair:
    """A source frame and the other video's frame on screen at its time."""

    source: Frame
    shown: Frame
    held: bool  # ``shown`` was already paired with an earlier source frame


class TimePairing:
    """Pair each source frame with the other video's frame on screen at the same time.

    The frame on screen at time ``t`` is the last one starting at or before ``t`` plus half the
    source frame's duration (slack for timestamps rounded to another time base). Counts of
    what could not be paired accumulate in :meth:`result`.
    """

    def __init__(self) -> None:
        self._source = self._other = self._paired = 0
        self._before = self._after = self._held = self._unshown = 0
        self._source_end = self._other_end = 0.0

    def iter_pairs(self, source: Iterable[Frame], other: Iterable[Frame]) -> Iterator[FramePair]:
        """Yield pairs in source order; both inputs are consumed lazily."""
        others = iter(other)
        cur: Frame | None = None
        cur_used = False
        nxt = self._next(others)
        for frame in source:
            self._source += 1
            self._source_end = frame.time_s + frame.duration_s
            t, slack = frame.time_s, frame.duration_s / 2
            while nxt is not None and nxt.time_s <= t + slack:
                if cur is not None and not cur_used:
                    self._unshown += 1
                cur, cur_used = nxt, False
                nxt = self._next(others)
            if cur is None:
                self._before += 1
                continue
            if nxt is None and t >= cur.time_s + cur.duration_s:
                self._after += 1
                continue
            if cur_used:
                self._held += 1
            self._paired += 1
            yield FramePair(frame, cur, cur_used)
            cur_used = True
        if cur is not None and not cur_used:
            self._unshown += 1
        while self._next(others) is not None:
            self._unshown += 1

    def _next(self, others: Iterator[Frame]) -> Frame | None:
        frame = next(others, None)
        if frame is not None:
            self._other += 1
            self._other_end = frame.time_s + frame.duration_s
        return frame

    def result(self) -> Pairing:
        """The counts so far."""
        return Pairing(
            source_frames=self._source,
            vq_frames=self._other,
            paired=self._paired,
            source_before_vq=self._before,
            source_after_vq=self._after,
            vq_held=self._held,
            vq_unshown=self._unshown,
            source_end_s=self._source_end,
            vq_end_s=self._other_end,
        )


def pairing_warnings(p: Pairing) -> list[str]:
    """The mismatches in ``p``, one sentence each (none when every frame met its match)."""
    out = []
    if p.source_frames != p.vq_frames:
        out.append(f"frame counts differ: original {p.source_frames}, .vq {p.vq_frames}")
    if p.source_before_vq:
        out.append(f"{p.source_before_vq} original frames come before the .vq's first frame")
    if p.source_after_vq:
        out.append(f"{p.source_after_vq} original frames come after the .vq's last frame")
    if p.vq_held:
        out.append(
            f"{p.vq_held} original frames were compared with a .vq frame held from before "
            "(frames missing from the .vq)"
        )
    if p.vq_unshown:
        out.append(f"{p.vq_unshown} .vq frames match no original frame time (not compared)")
    if p.paired == 0:
        out.append("no frame could be paired: no quality figures")
    if p.source_frames:
        frame_s = p.source_end_s / p.source_frames
        if abs(p.source_end_s - p.vq_end_s) > frame_s / 2:
            out.append(f"durations differ: original {p.source_end_s:.3f} s, .vq {p.vq_end_s:.3f} s")
    return out
