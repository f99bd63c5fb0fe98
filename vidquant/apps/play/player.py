"""The player: frames on a display at the stream's own timing, keys, and :func:`play_file`."""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidquant.apps.play.display import CvDisplay, Display, DisplayError, check_display
from vidquant.apps.play.keys import Action, action_for_key
from vidquant.apps.play.original import OriginalTrack
from vidquant.apps.play.sources import (
    EPS_S,
    FrameSource,
    PreviewSource,
    ViewFrame,
    VqSource,
    is_vq_file,
)
from vidquant.apps.play.view import compose_view, fit_to, format_psnr
from vidquant.errors import SettingsError
from vidquant.metrics import psnr
from vidquant.settings import EncodeSettings

log = logging.getLogger(__name__)

_PAUSED_POLL_S = 0.05  # how often a paused player looks at the keyboard


@dataclass(frozen=True)
class PlayReport:
    """What one :meth:`Player.play` did.

    Attributes
    ----------
    shown
        Frames put on screen.
    dropped
        Frames skipped because they were already late (their display time had passed).
    seeks
        Keyframe seeks made.
    last_index
        Index of the last frame shown, or None.
    quit
        True when the user quit (key or closed window), False at the end of the stream.
    """

    shown: int
    dropped: int
    seeks: int
    last_index: int | None
    quit: bool


class _Quit(Exception):
    """Internal: the user asked to quit."""


class Player:
    """Plays a :class:`FrameSource` on a :class:`Display` at the stream's own timing.

    Each frame is shown when the clock reaches its presentation time, counted from the moment
    playback (re)started, so timing never drifts; a frame whose display time has fully passed
    is dropped. Keys: see :data:`vidquant.apps.play.keys.KEY_ACTIONS`. A seek restarts decoding
    at the keyframe.

    Parameters
    ----------
    source
        The frames.
    display
        The window (or a fake with the same methods).
    original
        With it, the original is shown beside each frame with the frame's PSNR.
    clock
        Monotonic seconds (injectable for tests).
    pause_at
        Pause on the frame with this index (never dropped), then wait for keys.
    """

    def __init__(
        self,
        source: FrameSource,
        display: Display,
        *,
        original: OriginalTrack | None = None,
        clock: Callable[[], float] = time.monotonic,
        pause_at: int | None = None,
    ) -> None:
        self.source = source
        self.display = display
        self.original = original
        self.clock = clock
        self._pause_at = pause_at
        self._shown = self._dropped = self._seeks = 0
        self._current: ViewFrame | None = None  # on screen
        self._pending: ViewFrame | None = None  # decoded, waiting for its time
        self._frames: Iterator[ViewFrame] = iter(())
        self._origin = 0.0  # clock time at which stream time 0 is due
        self._paused_at_s: float | None = None  # stream time where playback paused

    def play(self, start_s: float = 0.0) -> PlayReport:
        """Play from ``start_s`` (seconds) to the end of the stream or until the user quits."""
        quit_ = False
        self._restart(start_s)
        try:
            self._run()
        except _Quit:
            quit_ = True
        finally:
            _close(self._frames)
        last = self._current.index if self._current is not None else None
        return PlayReport(self._shown, self._dropped, self._seeks, last, quit_)

    def _run(self) -> None:
        while True:
            if self._paused_at_s is not None:
                self._handle(self._poll(_PAUSED_POLL_S))
                continue
            frame = self._pending if self._pending is not None else next(self._frames, None)
            self._pending = None
            if frame is None:
                if self._current is not None:  # the last frame stays for its duration
                    end = self._current.time_s + self._current.duration_s
                    if not self._wait_until(self._origin + end):
                        continue
                return
            forced = self._pause_at is not None and frame.index >= self._pause_at
            due = self._origin + frame.time_s
            late = self._current is not None and self.clock() >= due + frame.duration_s
            if late and not forced:
                self._dropped += 1
                log.debug("dropped late frame %d (%.3f s)", frame.index, frame.time_s)
                continue
            self._pending = frame  # a pause keeps it next; a seek discards it
            if not self._wait_until(due):
                continue
            self._pending = None
            self._show(frame)
            if forced:
                self._pause_at = None
                self._paused_at_s = frame.time_s
                log.info("paused at frame %d (%.3f s)", frame.index, frame.time_s)

    def _wait_until(self, due: float) -> bool:
        """Wait for clock time ``due`` handling keys; False when a key paused or seeked.

        The display is polled at least once, even when ``due`` has passed: the GUI draws and
        reads keys only then, and a player that is always late must still react.
        """
        polled = False
        while (remaining := due - self.clock()) > 0 or not polled:
            action = self._poll(max(0.0, remaining))
            polled = True
            if action is not None:
                self._handle(action)  # quit raises
                return False
        return True

    def _poll(self, timeout_s: float) -> Action | None:
        code = self.display.wait_key(timeout_s)
        if self.display.closed:
            raise _Quit
        action = action_for_key(code)
        if action is None and code is not None:
            log.debug("key %d: no action", code)
        return action

    def _handle(self, action: Action | None) -> None:
        if action is None:
            return
        log.debug("key: %s", action.value)
        if action is Action.QUIT:
            raise _Quit
        now_s = self._current.time_s if self._current is not None else 0.0
        if action is Action.TOGGLE_PAUSE:
            if self._paused_at_s is None:
                self._paused_at_s = now_s
            else:  # the next frame comes its own interval after the one on screen
                self._origin = self.clock() - self._paused_at_s
                self._paused_at_s = None
            return
        target = self._seek_target(now_s, forward=action is Action.NEXT_KEYFRAME)
        if target is None:
            log.info("no %s after %.3f s", action.value, now_s)
            return
        self._seeks += 1
        log.info("seek to the keyframe at %.3f s", target)
        paused = self._paused_at_s is not None
        self._restart(target)
        if paused:  # show where the seek landed, and stay paused there
            frame = next(self._frames, None)
            if frame is not None:
                self._show(frame)
            self._paused_at_s = frame.time_s if frame is not None else target

    def _seek_target(self, now_s: float, *, forward: bool) -> float | None:
        keys = list(self.source.keyframe_times_s())
        if forward:
            i = bisect.bisect_right(keys, now_s + EPS_S)
            return keys[i] if i < len(keys) else None
        i = bisect.bisect_left(keys, now_s - EPS_S)
        if i > 0:
            return keys[i - 1]
        return keys[0] if keys else None  # before the first keyframe: back to the start

    def _restart(self, start_s: float) -> None:
        _close(self._frames)
        self._frames = self.source.iter_frames(start_s)
        self._pending = None
        self._origin = self.clock() - start_s
        self._paused_at_s = None

    def _show(self, frame: ViewFrame) -> None:
        # How late each frame comes, for --debug: what a stutter report needs, and how the
        # window tests check the timing of a real run.
        late_s = self.clock() - (self._origin + frame.time_s)
        log.debug(
            "showing frame %d (%.3f s), %.3f s after its time", frame.index, frame.time_s, late_s
        )
        title = f"{self.source.name}  {frame.time_s:.2f} s"
        original = None
        labels = ("original", "vidquant")
        if self.original is not None:
            original = self.original.frame_at(frame.time_s)
            if original is None:  # keep the layout: a black original, and no PSNR
                original = np.zeros_like(frame.rgb)
                labels = ("original: none at this time", "vidquant")
            else:
                original = fit_to(original, frame.rgb.shape)
                quality = f"PSNR {format_psnr(psnr(original, frame.rgb))}"
                title += f"  {quality}"
                labels = ("original", f"vidquant  {quality}")
        self.display.show(compose_view(frame.rgb, original, labels=labels), title)
        self._current = frame
        self._shown += 1


def play_file(
    src: str | Path,
    *,
    original: str | Path | None = None,
    settings: EncodeSettings | None = None,
    pause_at: int | None = None,
    display: Display | None = None,
) -> PlayReport:
    """Play a ``.vq`` file, or preview any video quantised on the fly, in a window.

    Sound is not played. Keys: space pauses, left/right seek to the previous/next keyframe,
    q or Esc quits.

    Parameters
    ----------
    src
        A ``.vq`` file (recognised by its magic bytes), or any video PyAV opens.
    original
        Show this video beside ``src``, paired by timestamp, with each frame's PSNR.
    settings
        Encoder settings of a preview (default: :class:`EncodeSettings` defaults); a ``.vq``
        file takes none.
    pause_at
        Pause on the frame with this index (0-based), then wait for keys.
    display
        Where to show frames (default: a new OpenCV window).

    Returns
    -------
    PlayReport

    Raises
    ------
    DisplayError
        No window can be opened; the message suggests writing a video file instead.
    SettingsError
        ``settings`` given for a ``.vq`` file.
    InputError, FormatError
        ``src`` or ``original`` cannot be read.
    """
    src = Path(src)
    vq = is_vq_file(src)
    if vq and settings is not None:
        raise SettingsError(f"encoder settings (k) apply to a preview, and {src} is a .vq file")
    if display is None:
        try:
            check_display()  # before the slow part: opening and probing the videos
        except DisplayError as exc:
            raise DisplayError(f"{exc}; {_decode_hint(src, vq=vq)}") from exc
    source: VqSource | PreviewSource = (
        VqSource(src) if vq else PreviewSource(src, settings or EncodeSettings())
    )
    track: OriginalTrack | None = None
    try:
        if original is not None:
            track = OriginalTrack(original, width=source.width, offset_s=source.offset_s)
        if display is None:
            try:
                display = CvDisplay()
            except DisplayError as exc:
                raise DisplayError(f"{exc}; {_decode_hint(src, vq=vq)}") from exc
        try:
            return Player(source, display, original=track, pause_at=pause_at).play()
        finally:
            display.close()
    finally:
        source.close()
        if track is not None:
            track.close()


def _decode_hint(src: Path, *, vq: bool) -> str:
    """How to watch ``src`` without a window: write a video any player opens."""
    out = src.with_suffix(".decoded.mp4")
    if vq:
        return f"to watch it elsewhere, write a video: vidquant decode {src} -o {out}"
    vq_path = src.with_suffix(".vq")
    return (
        f"to watch it elsewhere, encode and write a video: vidquant encode {src}, "
        f"then vidquant decode {vq_path} -o {out}"
    )


def _close(frames: Iterator[ViewFrame]) -> None:
    close = getattr(frames, "close", None)
    if close is not None:
        close()
