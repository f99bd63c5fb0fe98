"""The screen kind: a desktop where most pixels stand still from frame to frame."""

from __future__ import annotations

import codecs
import contextlib
import io
from collections.abc import Iterator

import cv2
import numpy as np

from . import SEED, Size
from .drawing import AA, gradient, poly

FONT = cv2.FONT_HERSHEY_SIMPLEX
LOG_WORDS = ("build", "compile", "link", "test", "fetch", "cache", "resolve", "install", "check")


def _zen() -> list[str]:
    """The Zen of Python (``import this``), which ships with Python, without printing it."""
    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return codecs.decode(this.s, "rot13").splitlines()[2:]


def _text(img, s: str, x: float, y: float, scale: float, colour, thick: int = 1) -> None:
    cv2.putText(img, s, (round(x), round(y)), FONT, scale, colour, thick, AA)


def _button(img, x, y, w, h, label: str, fill, u: float) -> None:
    cv2.rectangle(img, (round(x), round(y)), (round(x + w), round(y + h)), fill, -1)
    cv2.rectangle(img, (round(x), round(y)), (round(x + w), round(y + h)), (90, 90, 100), 1)
    _text(img, label, x + 10 * u, y + h - 9 * u, 0.45 * u, (20, 20, 20))


def _window(img, x, y, w, h, title: str, u: float, body) -> None:
    cv2.rectangle(
        img,
        (round(x + 4 * u), round(y + 4 * u)),
        (round(x + w + 4 * u), round(y + h + 4 * u)),
        (30, 60, 70),
        -1,
    )
    cv2.rectangle(img, (round(x), round(y)), (round(x + w), round(y + 22 * u)), (70, 80, 100), -1)
    for j, c in enumerate(((230, 90, 80), (235, 190, 60), (90, 190, 90))):
        cv2.circle(img, (round(x + (12 + 16 * j) * u), round(y + 11 * u)), round(5 * u), c, -1, AA)
    _text(img, title, x + 64 * u, y + 16 * u, 0.42 * u, (230, 230, 235))
    cv2.rectangle(img, (round(x), round(y + 22 * u)), (round(x + w), round(y + h)), body, -1)


def screen_frames(size: Size, n_frames: int, fps: int) -> Iterator[np.ndarray]:
    """A desktop: typing in an editor, a scrolling terminal, a cursor that clicks buttons."""
    w, h = size
    u = min(w / 640, h / 360)
    rng = np.random.default_rng(SEED + 2)
    log = [
        f"[{i:04d}] {LOG_WORDS[rng.integers(len(LOG_WORDS))]} "
        f"pkg-{rng.integers(100, 999)} ... {'ok' if rng.random() > 0.1 else 'retry'}"
        for i in range(400)
    ]
    zen = _zen()
    desk = gradient(h, w, (40, 110, 130), (30, 80, 100))
    ex, ey, ew, eh = 12 * u, 14 * u, 360 * u, 300 * u  # editor window
    tx, ty, tw, th = 388 * u, 14 * u, 240 * u, 210 * u  # terminal
    bx, by = 388 * u, 240 * u  # button row
    buttons = ("Run", "Stop", "Save")
    bw, bh = 72 * u, 28 * u
    line_h = 16 * u
    dwell_s, move_s = 1.6, 0.6  # the cursor visits a button every 1.6 s, moving for 0.6 s

    def target(n: int) -> tuple[float, float]:
        if n < 0:
            return 0.5 * w, 0.5 * h
        return bx + ((n % 3) * 84 + 36) * u, by + 14 * u

    chars_per_s = 14.0
    for i in range(n_frames):
        t = i / fps
        img = desk.copy()
        # Taskbar with a clock that ticks every second.
        cv2.rectangle(img, (0, round(h - 26 * u)), (w, h), (35, 35, 45), -1)
        _button(img, 4 * u, h - 23 * u, 60 * u, 20 * u, "Start", (200, 200, 210), u)
        clock = f"12:{int(t) // 60:02d}:{int(t) % 60:02d}"
        _text(img, clock, w - 80 * u, h - 8 * u, 0.45 * u, (230, 230, 230))
        # Editor: the Zen of Python being typed, with line numbers and a blinking caret.
        _window(img, ex, ey, ew, eh, "zen.txt - editor", u, (252, 252, 248))
        cv2.rectangle(
            img,
            (round(ex), round(ey + 22 * u)),
            (round(ex + 28 * u), round(ey + eh)),
            (235, 235, 238),
            -1,
        )
        typed = int(t * chars_per_s)
        rows = max(1, int((eh - 30 * u) / line_h))
        lines, left = [], typed
        for line in zen:
            if left <= 0:
                break
            lines.append(line[:left])
            left -= len(line) + 1
        first = max(0, len(lines) - rows)
        for r, line in enumerate(lines[first:]):
            y = ey + 22 * u + (r + 1) * line_h
            _text(img, f"{first + r + 1:2d}", ex + 4 * u, y, 0.38 * u, (150, 150, 160))
            colour = (30, 30, 140) if line.startswith(("Beautiful", "Special")) else (30, 30, 30)
            _text(img, line[:46], ex + 34 * u, y, 0.4 * u, colour)
        if (i * 1000 // fps) % 1060 < 530 and lines:  # caret
            (tw_px, _), _ = cv2.getTextSize(lines[-1][:46], FONT, 0.4 * u, 1)
            cx = ex + 34 * u + tw_px + 1
            cy = ey + 22 * u + (len(lines) - first) * line_h
            cv2.line(
                img, (round(cx), round(cy - 11 * u)), (round(cx), round(cy + 2 * u)), (0, 0, 0), 1
            )
        # Terminal: a new log line every 0.25 s, scrolled by whole lines.
        _window(img, tx, ty, tw, th, "build - terminal", u, (18, 18, 22))
        shown = int(t * 4) + 1
        trows = int((th - 28 * u) / (14 * u))
        for r, line in enumerate(log[max(0, shown - trows) : shown]):
            colour = (120, 220, 120) if line.endswith("ok") else (230, 180, 80)
            _text(img, line, tx + 6 * u, ty + 22 * u + (r + 1) * 14 * u, 0.36 * u, colour)
        # Buttons light up under the cursor and flash when clicked.
        n_stop, phase = int(t // dwell_s), t % dwell_s
        (x0, y0), (x1, y1) = target(n_stop - 1), target(n_stop)
        v = min(1.0, phase / move_s)
        v = v * v * (3 - 2 * v)  # smoothstep
        mx, my = x0 + (x1 - x0) * v, y0 + (y1 - y0) * v
        for n, label in enumerate(buttons):
            x = bx + n * 84 * u
            over = x <= mx <= x + bw and by <= my <= by + bh
            clicked = over and 0.9 < phase < 1.1
            fill = (90, 150, 240) if clicked else (200, 225, 250) if over else (225, 225, 230)
            _button(img, x, by, bw, bh, label, fill, u)
        # A notification slides in from the right at 55 % of the clip and stays 1.5 s.
        t_note = 0.55 * n_frames / fps
        if t_note <= t < t_note + 1.5:
            slide = min(1.0, (t - t_note) / 0.3)
            nx = w - slide * 230 * u
            cv2.rectangle(
                img,
                (round(nx), round(h - 90 * u)),
                (round(nx + 220 * u), round(h - 36 * u)),
                (250, 250, 250),
                -1,
            )
            _text(img, "Build finished", nx + 12 * u, h - 68 * u, 0.5 * u, (20, 20, 20), 1)
            _text(img, f"{shown} steps, 0 errors", nx + 12 * u, h - 46 * u, 0.4 * u, (90, 90, 90))
        arrow = np.array(
            [[0, 0], [0, 17], [4, 13], [7, 20], [10, 19], [7, 12], [12, 12]], np.float32
        )
        poly(img, arrow * u + [mx, my], (255, 255, 255), 1)
        yield img
