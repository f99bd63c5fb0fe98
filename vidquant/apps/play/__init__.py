"""Watch a palette video in a window, at the stream's own timing.

The pieces, each testable without a screen:

- a :class:`FrameSource` yields :class:`ViewFrame` values from a time on and knows its keyframes:
  :class:`VqSource` decodes a ``.vq`` file, :class:`PreviewSource` quantises any video on the fly
  with the encoder's own stages (to preview a setting before encoding);
- :class:`OriginalTrack` pairs the original video's frames with the player's by timestamp;
- :func:`compose_view` builds the image the window shows (side by side, with labels);
- :class:`Player` keeps time against an injected clock and reacts to raw key codes from an
  injected :class:`Display`; :class:`CvDisplay` is the real OpenCV highgui window.

Sound is not played: the window shows pictures only.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from vidquant.codec.format import MAGIC
from vidquant.decoder import open_vq
from vidquant.errors import FormatError, SettingsError, VidquantError
from vidquant.metrics import psnr
from vidquant.settings import EncodeSettings

log = logging.getLogger(__name__)

_EPS_S = 1e-4  # timestamps closer than this are the same instant (well under any frame period)
_PAUSED_POLL_S = 0.05  # how often a paused player looks at the keyboard
_LABEL_STRIP_PX = 22  # height of the label strip under a side-by-side view


class DisplayError(VidquantError):
    """No window can be opened: no display, or the GUI backend failed."""


class Action(Enum):
    """What a key asks the player to do."""

    TOGGLE_PAUSE = "pause"
    PREVIOUS_KEYFRAME = "previous keyframe"
    NEXT_KEYFRAME = "next keyframe"
    QUIT = "quit"


# Raw codes from cv2.waitKeyEx. Arrow keys differ by highgui backend:
#   65361 / 65363   GTK and Qt on X11 (the X keysyms XK_Left / XK_Right)
#   2424832 / 2555904   Win32 (0x250000 / 0x270000)
#   63234 / 63235   Cocoa on macOS (NSLeftArrowFunctionKey / NSRightArrowFunctionKey)
#   81 / 83   builds that only report the low byte of the X keysym (as waitKey() & 0xFF does);
#             they collide with "Q" and "S", so upper-case Q does not quit.
KEY_ACTIONS: Mapping[int, Action] = {
    32: Action.TOGGLE_PAUSE,  # space
    113: Action.QUIT,  # q
    27: Action.QUIT,  # Esc
    65361: Action.PREVIOUS_KEYFRAME,
    2424832: Action.PREVIOUS_KEYFRAME,
    63234: Action.PREVIOUS_KEYFRAME,
    81: Action.PREVIOUS_KEYFRAME,
    65363: Action.NEXT_KEYFRAME,
    2555904: Action.NEXT_KEYFRAME,
    63235: Action.NEXT_KEYFRAME,
    83: Action.NEXT_KEYFRAME,
}


def action_for_key(code: int | None) -> Action | None:
    """The action of a raw ``cv2.waitKeyEx`` code (None or -1: no key; unknown keys: None)."""
    if code is None or code < 0:
        return None
    return KEY_ACTIONS.get(code)


@dataclass(frozen=True, eq=False)
class ViewFrame:
    """One frame as the player shows it.

    Attributes
    ----------
    index
        Position in the stream, 0-based (after a seek in a preview: estimated from the time).
    time_s
        Presentation time, seconds from the start of the stream.
    duration_s
        How long the frame is shown, seconds.
    rgb
        Pixels, shape (height, width, 3), uint8.
    keyframe
        True when the frame is a keyframe (a seek target).
    """

    index: int
    time_s: float
    duration_s: float
    rgb: np.ndarray
    keyframe: bool


class FrameSource(Protocol):
    """Frames to play, from any time on, and the keyframes a seek can land on."""

    name: str
    offset_s: float  # where the source's time 0 lies in the original video, seconds

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        """Frames from the one shown at ``start_s`` (seconds) on; closing the iterator ends it."""
        ...

    def keyframe_times_s(self) -> Sequence[float]:
        """Times of the keyframes known so far, seconds, ascending."""
        ...

    def close(self) -> None:
        """Release files and decoders."""
        ...


class VqSource:
    """Frames of a ``.vq`` file; seeks use its keyframe index.

    Raises
    ------
    InputError, FormatError
        As :func:`vidquant.open_vq`.
    """

    def __init__(self, path: str | Path) -> None:
        self._decoder = open_vq(path)
        self.name = Path(path).name
        h = self._decoder.header
        self.width, self.height = h.width, h.height
        settings = h.meta.get("settings") if isinstance(h.meta, dict) else None
        start = settings.get("start_s") if isinstance(settings, dict) else None
        self.offset_s = float(start) if isinstance(start, (int, float)) else 0.0
        try:
            _, entries = self._decoder.read_index()
            self._keyframes = sorted(float(e.pts * h.time_base) for e in entries)
        except FormatError as exc:
            # A cut-short file still plays; it just cannot seek.
            log.warning("%s: no usable keyframe index (%s); seeking is off", self.name, exc)
            self._keyframes = []

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        """Decoded frames from ``start_s`` on (decoding starts at the keyframe before it)."""
        tb = self._decoder.header.time_base
        for f in self._decoder.iter_frames(start_s=start_s if start_s > 0 else None):
            yield ViewFrame(f.index, f.time_s, float(f.duration * tb), f.to_rgb(), f.keyframe)

    def keyframe_times_s(self) -> Sequence[float]:
        """Keyframe times from the file's index, seconds."""
        return self._keyframes

    def close(self) -> None:
        """Close the file."""
        self._decoder.close()


class PreviewSource:
    """Any video, quantised on the fly by the encoder's palette and quantiser stages.

    What is shown is exactly what ``vidquant encode`` with the same settings would store, except
    after a seek: the preview restarts there with a keyframe, as ``encode --start`` would. The
    keyframes known are those met so far plus the next periodic one (``keyint_s`` after the last).

    Raises
    ------
    InputError
        The video cannot be opened.
    """

    def __init__(self, path: str | Path, settings: EncodeSettings) -> None:
        from vidquant.encoder import make_header  # sklearn and PyAV: only when previewing
        from vidquant.io.reader import VideoReader

        self._path = Path(path)
        self._settings = settings
        self.name = self._path.name
        self.offset_s = settings.start_s
        with VideoReader(self._path, width=settings.width) as reader:
            self._info = reader.info
        self.width, self.height = self._info.width, self._info.height
        self._header = make_header(self._info, settings)
        self._seen: set[float] = set()

    def iter_frames(self, start_s: float) -> Iterator[ViewFrame]:
        """Source frames from ``start_s`` on, each replaced by its palette reconstruction."""
        from vidquant.encoder import FrameModeller
        from vidquant.io.reader import VideoReader

        fps = float(self._info.fps)
        first_index = round(start_s * fps)
        modeller = FrameModeller(self._header, self._settings)
        with VideoReader(
            self._path, start_s=self.offset_s + start_s, width=self._settings.width
        ) as reader:
            for frame in reader:
                rec = modeller.model(frame).reconstruction
                t = start_s + frame.time_s  # the reader rebases the first frame to 0
                if rec.keyframe:
                    self._seen.add(round(t, 6))
                yield ViewFrame(
                    first_index + frame.index, t, frame.duration_s, rec.to_rgb(), rec.keyframe
                )

    def keyframe_times_s(self) -> Sequence[float]:
        """Keyframes met so far, and the next periodic one after the last of them."""
        times = sorted(self._seen)
        if times:
            after = times[-1] + self._settings.keyint_s
            duration = self._info.duration_s
            if duration is None or after < duration:
                times.append(after)
        return times

    def close(self) -> None:
        """Nothing to release between iterations."""


def is_vq_file(path: str | Path) -> bool:
    """True when ``path`` is a file that starts with the ``.vq`` magic."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


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
        if self._current is not None and time_s + _EPS_S < self._current[0]:
            self._restart(time_s)  # backwards: a seek
        elif self._ahead is not None and time_s - self._ahead[0] > self._reopen_after_s:
            self._restart(time_s)
        while not self._ended and (self._ahead is None or self._ahead[0] <= time_s + _EPS_S):
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


def fit_to(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image`` resized to ``shape`` (height, width, ...) when it differs, else itself."""
    if image.shape[:2] == shape[:2]:
        return image
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def compose_view(
    picture: np.ndarray,
    original: np.ndarray | None = None,
    *,
    labels: tuple[str, str] = ("original", "vidquant"),
    gap_px: int = 4,
) -> np.ndarray:
    """The image the window shows, RGB uint8.

    Alone, ``picture`` is shown untouched. With ``original``, the two stand side by side
    (original left), ``gap_px`` apart, over a strip that holds ``labels``; pictures are never
    drawn on, so every shown pixel is a decoded pixel. An original of another size is resized
    to ``picture``'s.
    """
    if original is None:
        return picture
    h, w = picture.shape[:2]
    original = fit_to(original, picture.shape)
    view = np.full((h + _LABEL_STRIP_PX, 2 * w + gap_px, 3), 32, np.uint8)
    view[:h, :w] = original
    view[:h, w + gap_px :] = picture
    scale = 0.45 if w >= 200 else 0.3
    baseline = h + _LABEL_STRIP_PX - 7
    for x, text in ((4, labels[0]), (w + gap_px + 4, labels[1])):
        cv2.putText(
            view, text, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1,
            cv2.LINE_AA,
        )  # fmt: skip
    return view


def format_psnr(db: float) -> str:
    """A PSNR for people: ``31.25 dB``, or ``identical``."""
    return "identical" if math.isinf(db) else f"{db:.2f} dB"


class Display(Protocol):
    """Where the player shows images and hears keys (a window, or a test's fake)."""

    closed: bool  # True once the user closed the window

    def show(self, rgb: np.ndarray, title: str) -> None:
        """Show ``rgb`` (height, width, 3) with ``title``."""
        ...

    def wait_key(self, timeout_s: float) -> int | None:
        """Run the GUI up to ``timeout_s`` (0: just what is pending); return a raw key code
        as soon as one comes, else None."""
        ...

    def close(self) -> None:
        """Close the window."""
        ...


def check_display(env: Mapping[str, str] | None = None, platform: str | None = None) -> None:
    """Raise :class:`DisplayError` when there is clearly no screen to open a window on.

    On Windows and macOS a window can always be tried. Elsewhere ``DISPLAY`` (X11, XWayland) or
    ``WAYLAND_DISPLAY`` must be set, and an X server must answer on ``DISPLAY``: a Qt highgui
    build aborts the whole process when it cannot connect, so the connection is tried first.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "cygwin", "darwin")):
        return
    x_display = env.get("DISPLAY", "")
    if x_display:
        if not _x_server_answers(x_display):
            raise DisplayError(f"cannot connect to the X display {x_display!r}")
        return
    if not env.get("WAYLAND_DISPLAY"):
        raise DisplayError("no display to open a window on (DISPLAY and WAYLAND_DISPLAY unset)")


def _x_server_answers(x_display: str) -> bool:
    """Whether something accepts connections where ``DISPLAY`` points (no authentication)."""
    host, _, rest = x_display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):  # the file, then Linux's abstract socket
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + int(number)), timeout=2.0):
            return True
    except OSError:
        return False


class CvDisplay:
    """An OpenCV highgui window.

    Raises
    ------
    DisplayError
        No display, or OpenCV cannot open a window (a headless build, a broken backend).
    """

    def __init__(self, name: str = "vidquant") -> None:
        check_display()
        _use_system_fonts()
        self.name = name
        self._size: tuple[int, int] | None = None
        self._title: str | None = None
        try:
            # NORMAL: the user may resize (KEEPRATIO keeps the picture's shape); GUI_NORMAL: no
            # toolbar or status bar over the picture on the Qt backend.
            cv2.namedWindow(name, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error as exc:
            raise DisplayError(f"OpenCV cannot open a window: {_first_line(exc)}") from exc

    @property
    def closed(self) -> bool:
        """True once the user closed the window with the window manager."""
        try:
            return cv2.getWindowProperty(self.name, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def show(self, rgb: np.ndarray, title: str) -> None:
        """Show ``rgb``; the window takes the image's size the first time and on a change."""
        size = (rgb.shape[1], rgb.shape[0])
        try:
            if size != self._size:
                cv2.resizeWindow(self.name, *size)
                self._size = size
            cv2.imshow(self.name, np.ascontiguousarray(rgb[:, :, ::-1]))  # highgui wants BGR
            if title != self._title:
                cv2.setWindowTitle(self.name, title)
                self._title = title
        except cv2.error as exc:
            raise DisplayError(f"OpenCV cannot show the frame: {_first_line(exc)}") from exc

    def wait_key(self, timeout_s: float) -> int | None:
        """Run the GUI up to ``timeout_s`` (at least 1 ms: 0 would wait forever)."""
        code = cv2.waitKeyEx(max(1, int(timeout_s * 1000)))
        return None if code == -1 else code

    def close(self) -> None:
        """Close the window."""
        try:
            cv2.destroyWindow(self.name)
            cv2.waitKey(1)  # let the backend process the close
        except cv2.error:
            pass  # already gone


def _use_system_fonts() -> None:
    """Point Qt at the system's fonts when opencv-python's own font folder is missing.

    opencv-python's Qt build sets QT_QPA_FONTDIR to a folder its wheels do not ship, and Qt then
    warns on stderr for every label it draws.
    """
    current = os.environ.get("QT_QPA_FONTDIR")
    if current is None or Path(current).is_dir():
        return
    for folder in ("/usr/share/fonts/truetype", "/usr/share/fonts", "/usr/local/share/fonts"):
        if Path(folder).is_dir():
            os.environ["QT_QPA_FONTDIR"] = folder
            return


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


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
    is dropped. Keys: see :data:`KEY_ACTIONS`. A seek restarts decoding at the keyframe.

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
        return action_for_key(code)

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
            i = bisect.bisect_right(keys, now_s + _EPS_S)
            return keys[i] if i < len(keys) else None
        i = bisect.bisect_left(keys, now_s - _EPS_S)
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


__all__ = [
    "KEY_ACTIONS",
    "Action",
    "CvDisplay",
    "Display",
    "DisplayError",
    "FrameSource",
    "OriginalTrack",
    "PlayReport",
    "Player",
    "PreviewSource",
    "ViewFrame",
    "VqSource",
    "action_for_key",
    "check_display",
    "compose_view",
    "is_vq_file",
    "play_file",
]
