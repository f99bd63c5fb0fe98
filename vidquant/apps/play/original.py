"""The original video beside the player's frames, paired by timestamp."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from vidquant.apps.play.sources import EPS_S

log = logging.getLogger(__name__)


class OriginalTrack:
    """The original video's frames, paired with the player's frames by timestamp.

    Parameters
    ----------
    path
        The original video (any file PyAV opens).
    width
        Resize to this width (the palette video's), keeping the aspect ratio.
    offset_s
        Where the player's time 0 lies in the original (a ``.vq`` encoded with ``--start``).
    reopen_after_s
        A forward jump longer than this reopens the file at the target instead of decoding on.

    Notes
    -----
    A reopened file is timed by the reader's ``origin_s`` (where its first frame lies on the
    file's clock), so pairing stays exact after any seek. A reader without it leaves the first
    frame taken to be at the target: still exact when the target is one of the original's
    frame times, as the player's keyframe targets are when the ``.vq`` was made from it.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int | None = None,
        offset_s: float = 0.0,
        reopen_after_s: float = 2.0,
    ) -> None:
        from vidquant.io.reader import VideoReader

        self._open = lambda start_s: VideoReader(path, start_s=start_s, width=width)
        self._offset_s = offset_s
        self._reopen_after_s = reopen_after_s
        self._zero_s: float | None = None  # player time 0 on the file's clock, once known
        self._start(0.0)  # fails early (InputError) on a bad path

    def frame_at(self, time_s: float) -> np.ndarray | None:
        """The original frame on screen at ``time_s`` (player time), or None if there is none.

        Played past the original's end, its last frame stays (and the mismatch is logged); a
        jump past the end finds nothing.
        """
        if self._current is not None and time_s + EPS_S < self._current[0]:
            self._restart(time_s)  # backwards: a seek
        elif self._ahead is not None and time_s - self._ahead[0] > self._reopen_after_s:
            self._restart(time_s)
        while not self._ended and (self._ahead is None or self._ahead[0] <= time_s + EPS_S):
            if self._ahead is not None:
                self._current = self._ahead
            self._pull()
            if self._ended:
                end = self._current[0] if self._current is not None else self._base_s
                log.info("the original ends at %.3f s, before %.3f s", end, time_s)
        if self._current is None:
            return None if self._ahead is None else self._ahead[1]
        return self._current[1]

    def _pull(self) -> None:
        """Read the next frame into ``_ahead`` (None and ``_ended`` at the end)."""
        frame = next(self._frames, None)
        if frame is None:
            self._ahead, self._ended = None, True
            return
        if frame.index == 0:
            # Where this reading starts on the file's clock, if the reader says (it knows the
            # frame on screen at the target, which may start before it): exact pairing after
            # any seek. Without it, the frame is taken to be at the target (see Notes).
            origin = getattr(self._reader, "origin_s", None)
            if origin is not None and self._zero_s is None:
                self._zero_s = origin
            elif origin is not None:
                self._base_s = origin - self._zero_s
        self._ahead = (self._base_s + frame.time_s, frame.rgb)

    def _start(self, time_s: float) -> None:
        self._base_s = max(0.0, time_s)
        self._reader = self._open(self._offset_s + self._base_s)
        self._frames = iter(self._reader)
        self._current: tuple[float, np.ndarray] | None = None
        self._ahead: tuple[float, np.ndarray] | None = None
        self._ended = False
        if self._zero_s is None:
            self._pull()  # learn where time 0 is while it is at hand

    def _restart(self, time_s: float) -> None:
        self._reader.close()
        self._start(time_s)

    def close(self) -> None:
        """Release the file."""
        self._reader.close()
