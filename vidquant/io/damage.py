"""What a source lost on the way in: packets that failed to decode, and an early end.

The reader meets the damage; these turn it into times and messages. No PyAV here: the reader
passes timestamps and numbers, so the bookkeeping tests without FFmpeg.
"""

from __future__ import annotations

import re
from fractions import Fraction

# A source "ended early" when its frames stop this much before the end its container declares
# (seconds, or this many frames at the nominal rate, whichever is longer): a declared duration
# is rounded, and the last frame's own duration is a guess in many containers.
_EARLY_END_S = 0.5
_EARLY_END_FRAMES = 3


class DamageLog:
    """Packets that failed to decode, by pts on the file's clock, in the order met.

    A packet met again (a second decoding pass) counts once; a packet without a pts is
    placed at a fallback time and cannot be recognised again.
    """

    def __init__(self) -> None:
        self._pts: list[int | None] = []  # None: neither the packet nor a frame had a pts
        self._seen: set[int] = set()

    def __len__(self) -> int:
        return len(self._pts)

    def record(self, pts: int | None, fallback: int | None = None) -> None:
        """Count one packet that failed to decode at ``pts`` (once, however many passes meet
        it); without a pts, at ``fallback`` (the last good frame's), not deduplicated."""
        if pts is None:
            self._pts.append(fallback)
        elif pts not in self._seen:
            self._seen.add(pts)
            self._pts.append(pts)

    def times_s(
        self,
        time_base: Fraction,
        *,
        origin_s: float,
        start_pts: int | None = None,
        end_pts: float | None = None,
    ) -> list[float]:
        """Output-clock times, seconds, of the damaged packets in the part read.

        Parameters
        ----------
        time_base
            Seconds per pts unit.
        origin_s
            Output time 0 on the file's clock, seconds.
        start_pts, end_pts
            The part read on the file's clock (pts units): packets before ``start_pts`` or at
            or after ``end_pts`` were not lost from the output and are left out (None: no
            bound).

        Returns
        -------
        list of float
            One time per packet, never below 0 (a packet without any pts is at 0).
        """
        times = []
        for pts in self._pts:
            if pts is not None:
                if start_pts is not None and pts < start_pts:
                    continue  # before the part asked for: not lost from the output
                if end_pts is not None and pts >= end_pts:
                    continue
            time_s = 0.0 if pts is None else float(pts * time_base) - origin_s
            times.append(max(0.0, time_s))
        return times


def early_end(
    end_s: float, declared_s: float | None, *, frame_s: float, cut: str | None
) -> str | None:
    """Why a stream looks cut short, or None when it ends where its container says it does.

    Parameters
    ----------
    end_s
        Where the last frame ends, seconds from the stream's start.
    declared_s
        The length the container declares, seconds from the stream's start (None: unknown).
    frame_s
        One frame at the nominal rate, seconds.
    cut
        Why the file's structure says it is cut short (an MP4 box or a Matroska segment runs
        past the end of the file), or None.

    A file whose structure runs past its end is cut short for certain: then a missing half
    frame counts. Otherwise only the declared length speaks, and it must miss by more than
    rounding and a guessed last-frame duration can explain.
    """
    if declared_s is None:
        return None if cut is None else f"the source ended early at {end_s:.2f} s: {cut}"
    tolerance = 0.5 * frame_s if cut else max(_EARLY_END_S, _EARLY_END_FRAMES * frame_s)
    if declared_s - end_s <= tolerance:
        return None
    why = f"({cut})" if cut else "(is the file cut short?)"
    return (
        f"the source ended early: its frames stop at {end_s:.2f} s of the {declared_s:.2f} s "
        f"its container declares {why}"
    )


def duration_tag_s(text: str | None) -> float | None:
    """Seconds from a Matroska ``DURATION`` tag (``"00:00:04.000000000"``), or None."""
    match = re.fullmatch(r"\s*(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*", text or "")
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
