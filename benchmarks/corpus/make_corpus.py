"""Make the benchmark corpus: four kinds of deterministic clips, cached in benchmarks/out/corpus.

Every clip is made here, from photographs that installed packages ship or from drawing code, so
nothing is downloaded and the same command makes the same pixels on every machine:

- ``camera``: ``sample_media/make_sample.py``'s generator (pans, a zoom, cuts and a fade over
  scikit-image / scikit-learn photographs, with sensor noise), without its audio;
- ``cartoon``: flat-filled, outlined, anti-aliased shapes over a gradient sky: a walking figure
  made of shapes, a bouncing ball, a rotating sun, drifting clouds, parallax hills, and a hard
  cut to a night scene with a spinning windmill and twinkling stars;
- ``screen``: a synthetic desktop: an editor where text is typed with a blinking caret, a
  terminal whose log scrolls, buttons that light up under a moving mouse cursor, a ticking clock
  and a notification that slides in. Most pixels stand still from frame to frame;
- ``game``: pixel art at a quarter of the size, scaled up 4x by nearest neighbour: a tile map
  scrolled in whole (low-resolution) pixels, a parallax mountain layer, animated water, a
  walking and jumping player, enemies and spinning coins, in a 24-colour palette.

Clips are H.264 (libx264, CRF 12, preset medium), yuv420p converted and tagged as BT.709
limited range, like the sample clip, with no audio. They are made on demand, once per
(kind, size, length), and reused: delete a file (or pass ``--force``) to make it again.

Usage: python benchmarks/corpus/make_corpus.py [--kind KIND ...] [--size 640x360]
[--seconds 8] [--force]
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import io
import math
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "benchmarks" / "out" / "corpus"
DEFAULT_SIZE = (640, 360)
DEFAULT_SECONDS = 8.0
X264_OPTIONS = {"crf": "12", "preset": "medium"}
SEED = 20240604
AA = cv2.LINE_AA

Size = tuple[int, int]  # (width, height) in pixels


@dataclass(frozen=True)
class Kind:
    """One kind of content: its frame rate and its frame generator."""

    name: str
    fps: int
    frames: Callable[[Size, int, int], Iterator[np.ndarray]]  # (size, n_frames, fps) -> RGB
    about: str


# --- camera ------------------------------------------------------------------------------------


def camera_frames(size: Size, n_frames: int, fps: int) -> Iterator[np.ndarray]:
    """The sample clip's shots (``sample_media/make_sample.py``), timed to ``n_frames``."""
    sys.path.insert(0, str(ROOT / "sample_media"))
    try:
        import make_sample
    finally:
        sys.path.pop(0)
    if fps != make_sample.FPS:
        raise ValueError(f"the camera clip runs at {make_sample.FPS} fps, got {fps}")
    yield from make_sample.frames(size, n_frames)


# --- cartoon -----------------------------------------------------------------------------------

INK = (25, 20, 30)  # outline colour


def _gradient(
    h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    col = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.ascontiguousarray(
        np.broadcast_to(col[:, None, :], (h, w, 3)).round().astype(np.uint8)
    )


def _poly(img: np.ndarray, pts: np.ndarray, fill: tuple[int, ...], outline: int) -> None:
    """A flat-filled polygon with an anti-aliased outline (``outline`` px; 0 for none)."""
    p = np.round(pts * 16).astype(np.int32).reshape(-1, 1, 2)  # 4 fractional bits
    cv2.fillPoly(img, [p], fill, AA, shift=4)
    if outline:
        cv2.polylines(img, [p], True, INK, outline, AA, shift=4)


def _disc(img: np.ndarray, c: tuple[float, float], r: float, fill: tuple[int, ...], outline: int):
    centre = (round(c[0] * 16), round(c[1] * 16))
    cv2.circle(img, centre, round(r * 16), fill, -1, AA, shift=4)
    if outline:
        cv2.circle(img, centre, round(r * 16), INK, outline, AA, shift=4)


def _star(cx: float, cy: float, r_out: float, r_in: float, n: int, angle: float) -> np.ndarray:
    a = angle + np.arange(2 * n) * math.pi / n
    r = np.where(np.arange(2 * n) % 2 == 0, r_out, r_in)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def _hills(w: int, h: int, base: float, amp: float, wave: float, phase: float) -> np.ndarray:
    xs = np.linspace(0, w, 65)
    ys = base + amp * np.sin(xs / wave + phase) + 0.4 * amp * np.sin(xs / (0.37 * wave) + 2 * phase)
    return np.concatenate([np.stack([xs, ys], 1), [[w, h], [0, h]]])


def _figure(img: np.ndarray, x: float, ground: float, u: float, t: float, night: bool) -> None:
    """A walking figure of shapes: legs and arms swing, the body bobs."""
    swing = math.sin(t * 2 * math.pi * 1.6)
    hip_y = ground - 38 * u + 2 * u * abs(swing)
    for side in (-1, 1):  # legs
        foot = (x + side * swing * 12 * u, ground)
        cv2.line(img, _pt(x, hip_y), _pt(*foot), (40, 60, 140), max(1, round(7 * u)), AA, 4)
    body = np.array([[-13, -44], [13, -44], [15, 0], [-15, 0]], np.float32) * u
    _poly(
        img, body + [x, hip_y], (230, 120, 40) if not night else (200, 90, 60), max(1, round(2 * u))
    )
    for side in (-1, 1):  # arms
        hand = (x - side * swing * 14 * u, hip_y - 14 * u)
        cv2.line(
            img, _pt(x, hip_y - 38 * u), _pt(*hand), (230, 180, 140), max(1, round(5 * u)), AA, 4
        )
    head = (x, hip_y - 58 * u)
    _disc(img, head, 15 * u, (245, 200, 160), max(1, round(2 * u)))
    _disc(img, (head[0] + 5 * u, head[1] - 3 * u), 2.2 * u, INK, 0)
    _disc(img, (head[0] - 4 * u, head[1] - 3 * u), 2.2 * u, INK, 0)
    cap = np.array([[-16, -4], [16, -4], [10, -16], [-10, -16]], np.float32) * u
    _poly(img, cap + head, (200, 30, 60), max(1, round(2 * u)))


def _pt(x: float, y: float) -> tuple[int, int]:
    return round(x * 16), round(y * 16)


def cartoon_frames(size: Size, n_frames: int, fps: int) -> Iterator[np.ndarray]:
    """Day scene, then (hard cut at the middle) a night scene; flat colours, hard outlines."""
    w, h = size
    u = min(w / 640, h / 360)  # drawing unit: 1 at 640x360
    rng = np.random.default_rng(SEED + 1)
    day_sky = _gradient(h, w, (90, 160, 235), (200, 230, 250))
    night_sky = _gradient(h, w, (10, 15, 50), (60, 40, 100))
    stars = rng.uniform([0, 0], [w, 0.55 * h], (40, 2))
    clouds = [
        (rng.uniform(0, w), rng.uniform(0.08, 0.3) * h, rng.uniform(0.7, 1.3)) for _ in range(4)
    ]
    cut = n_frames // 2
    ground = 0.86 * h
    for i in range(n_frames):
        t = i / fps
        night = i >= cut
        img = (night_sky if night else day_sky).copy()
        if not night:
            _poly(img, _star(0.84 * w, 0.18 * h, 44 * u, 30 * u, 12, t * 0.8), (255, 200, 40), 0)
            _disc(img, (0.84 * w, 0.18 * h), 26 * u, (255, 230, 80), max(1, round(2 * u)))
            for cx, cy, s in clouds:
                x = (cx + 25 * u * t * s) % (w + 160 * u) - 80 * u
                for dx, dy, r in ((-28, 4, 20), (0, -8, 28), (30, 2, 22), (8, 10, 22)):
                    _disc(img, (x + dx * s * u, cy + dy * s * u), r * s * u, (250, 250, 255), 0)
        else:
            for j, (sx, sy) in enumerate(stars):
                if (i // 6 + j) % 5:  # twinkle: each star is off one step in five
                    _disc(img, (sx, sy), 1.8 * u, (255, 250, 200), 0)
            _disc(img, (0.15 * w, 0.2 * h), 30 * u, (240, 240, 210), max(1, round(2 * u)))
            _disc(img, (0.15 * w + 12 * u, 0.2 * h - 8 * u), 26 * u, (40, 35, 90), 0)
        far = (120, 190, 90) if not night else (40, 70, 60)
        near = (70, 160, 60) if not night else (25, 50, 45)
        _poly(img, _hills(w, h, 0.62 * h, 18 * u, 90 * u, t * 0.3), far, max(1, round(2 * u)))
        _poly(img, _hills(w, h, 0.76 * h, 10 * u, 60 * u, t * 0.9), near, max(1, round(2 * u)))
        if night:  # windmill with spinning blades
            mx, my = 0.7 * w, 0.5 * h
            tower = np.array([[-14, 0], [14, 0], [22, 120], [-22, 120]], np.float32) * u + [mx, my]
            _poly(img, tower, (150, 110, 80), max(1, round(2 * u)))
            for b in range(4):
                a = t * 2.0 + b * math.pi / 2
                d = np.array([math.cos(a), math.sin(a)])
                n = np.array([-d[1], d[0]])
                blade = np.array([d * 8 + n * 6, d * 70 + n * 12, d * 70 - n * 2, d * 8 - n * 2])
                _poly(img, blade * u + [mx, my], (230, 230, 240), max(1, round(2 * u)))
            _disc(img, (mx, my), 7 * u, (120, 60, 60), max(1, round(2 * u)))
        # The ball bounces on the ground (|sin| arc) while it rolls across.
        period = 1.1
        bx = (0.1 + 0.8 * ((t * 0.12) % 1.0)) * w
        by = ground - 22 * u - 150 * u * abs(math.sin(math.pi * t / period))
        shadow = 1.0 - (ground - 22 * u - by) / (170 * u)
        cv2.ellipse(
            img,
            _pt(bx, ground + 4 * u),
            _pt(22 * u * shadow, 5 * u * shadow),
            0,
            0,
            360,
            (50, 90, 40) if not night else (15, 30, 30),
            -1,
            AA,
            4,
        )
        _disc(img, (bx, by), 22 * u, (220, 40, 40), max(1, round(3 * u)))
        _disc(img, (bx - 7 * u, by - 8 * u), 6 * u, (255, 160, 150), 0)
        walk = (t - (cut / fps if night else 0)) * 55 * u
        fx = (0.1 * w + walk) if not night else (0.9 * w - walk)
        _figure(img, fx, ground, u, t, night)
        yield img


# --- screen ------------------------------------------------------------------------------------

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
    desk = _gradient(h, w, (40, 110, 130), (30, 80, 100))
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
        _poly(img, arrow * u + [mx, my], (255, 255, 255), 1)
        yield img


# --- game --------------------------------------------------------------------------------------

# PICO-8's 16 colours plus 8 more: 24 in all.
_PALETTE_HEX = (
    "000000 1d2b53 7e2553 008751 ab5236 5f574f c2c3c7 fff1e8 ff004d ffa300 ffec27 00e436 "
    "29adff 83769c ff77a8 ffccaa 291814 111d35 422136 125359 742f29 49333b a28879 be1250"
)
GAME_PALETTE = np.frombuffer(bytes.fromhex(_PALETTE_HEX), np.uint8).reshape(-1, 3)
SKY, CLOUD, GRASS, DIRT, DARK, BRICK, WATER, FOAM = 12, 7, 11, 4, 16, 20, 1, 6
TILE = 16  # tile size in low-resolution pixels
PIXEL = 4  # each low-resolution pixel becomes PIXEL x PIXEL


def _tiles(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """16x16 palette-index tiles, drawn procedurally."""
    t = {}
    grass = np.full((TILE, TILE), DIRT, np.uint8)
    grass[:4] = GRASS
    grass[4, rng.random(TILE) < 0.5] = GRASS
    grass[6:][rng.random((TILE - 6, TILE)) < 0.12] = 20  # pebbles
    t["grass"] = grass
    dirt = np.full((TILE, TILE), DIRT, np.uint8)
    dirt[rng.random((TILE, TILE)) < 0.12] = 20
    t["dirt"] = dirt
    brick = np.full((TILE, TILE), BRICK, np.uint8)
    brick[[0, 8], :] = DARK
    brick[:8, [0, 8]] = DARK
    brick[8:, [4, 12]] = DARK
    brick[1, :] = 14
    t["brick"] = brick
    q = np.full((TILE, TILE), 9, np.uint8)  # "?" block
    q[0, :], q[-1, :], q[:, 0], q[:, -1] = DARK, DARK, DARK, DARK
    q[4:6, 5:11], q[6:8, 9:11], q[8:10, 7:9], q[12:14, 7:9] = 10, 10, 10, 10
    t["block"] = q
    for phase in range(4):  # water frames: a wave moving right
        wat = np.full((TILE, TILE), WATER, np.uint8)
        xs = (np.arange(TILE) + phase * 4) % TILE
        wat[0, xs < 6] = FOAM
        wat[1, (xs > 2) & (xs < 10)] = 12
        wat[6 + phase % 2, (xs + 5) % TILE < 3] = 12
        t[f"water{phase}"] = wat
    return t


def _sprite(rows: list[str], colours: dict[str, int]) -> np.ndarray:
    """A sprite from ASCII art; '.' is transparent (255)."""
    return np.array([[colours.get(c, 255) for c in row] for row in rows], np.uint8)


HERO = [
    "....RRRRR.......",
    "...RRRRRRRRR....",
    "...BBBSSKS......",
    "..BSBSSSKSSS....",
    "..BSBBSSSKSSS...",
    "..BBSSSSKKKK....",
    "....SSSSSSS.....",
    "...RRURRR.......",
    "..RRRURRURRR....",
    ".RRRRUUUURRRR...",
    ".SSRUYUUYURSS...",
    ".SSSUUUUUUSSS...",
    ".SSUUUUUUUUSS...",
    "...UUU..UUU.....",
    "..BBB....BBB....",
    ".BBBB....BBBB...",
]
ENEMY = [
    "......BBBB......",
    "....BBBBBBBB....",
    "...BBBBBBBBBB...",
    "..BWWBBBBBBWWB..",
    ".BBBKWBBBBWKBBB.",
    ".BBBKWWBBWWKBBB.",
    "BBBBKWWBBWWKBBBB",
    "BBBBBBBBBBBBBBBB",
    "BBBBBBBBBBBBBBBB",
    ".BBBBSSSSSSBBBB.",
    "....SSSSSSSS....",
    "....SSSSSSSS....",
    "..KKSSSSSSSSKK..",
    ".KKKKKSSSSKKKKK.",
    ".KKKKKK..KKKKKK.",
    "..KKKK....KKKK..",
]
HERO_COLOURS = {"R": 8, "B": 16, "S": 15, "K": 0, "U": 1, "Y": 10}
ENEMY_COLOURS = {"B": 4, "W": 7, "K": 0, "S": 15}


def _blit(canvas: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
    """Draw an index sprite (255 = transparent) at integer (x, y), clipped to the canvas."""
    h, w = sprite.shape
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    part = sprite[y0 - y : y1 - y, x0 - x : x1 - x]
    view = canvas[y0:y1, x0:x1]
    view[part != 255] = part[part != 255]


DIGITS = {  # 3x5 bitmap font
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
}


def _hud(canvas: np.ndarray, text: str, x: int, y: int, colour: int) -> None:
    for n, ch in enumerate(text):
        glyph = np.array([int(b) for b in DIGITS[ch]], bool).reshape(5, 3)
        canvas[y : y + 5, x + 4 * n : x + 4 * n + 3][glyph] = colour


def game_frames(size: Size, n_frames: int, fps: int) -> Iterator[np.ndarray]:
    """A side-scroller: tile map scrolled in whole low-resolution pixels, 24 colours."""
    w, h = size
    if w % (2 * PIXEL) or h % (2 * PIXEL):
        raise ValueError(f"the game clip needs a size divisible by {2 * PIXEL}, got {w}x{h}")
    lw, lh = w // PIXEL, h // PIXEL
    rng = np.random.default_rng(SEED + 3)
    tiles = _tiles(rng)
    rows = lh // TILE + 1
    cols = (lw + n_frames) // TILE + 3
    ground_row = rows - 2
    heights = np.clip(np.cumsum(rng.integers(-1, 2, cols)) // 3, -1, 1)
    world = np.full((rows, cols), -1, np.int16)  # -1: sky; else an index into `names`
    names = ["grass", "dirt", "brick", "block", "water"]
    surface = ground_row - heights  # row of each column's top tile
    for c in range(cols):
        if c % 23 in (9, 10):  # a pool
            world[ground_row + 1 :, c] = 4
            surface[c] = ground_row + 1
            continue
        top = surface[c]
        world[top, c], world[top + 1 :, c] = 0, 1
        if c % 11 == 5 and c + 1 < cols:
            world[top - 3, c - 1 : c + 2] = [2, 3, 2]
    mountains = (
        lh * 0.55
        + 10 * np.sin(np.arange(2 * lw + n_frames) / 9.0)
        + 6 * np.sin(np.arange(2 * lw + n_frames) / 3.7)
    ).astype(int)
    shift = rows * TILE - lh  # the map's top rows are cut off

    def stand(world_x: int) -> int:  # screen y of a sprite standing on the ground there
        return int(surface[((world_x + TILE // 2) // TILE) % cols]) * TILE - shift - TILE

    hero = _sprite(HERO, HERO_COLOURS)
    hero_step = np.roll(hero, 1, axis=1)
    hero_step[13:] = _sprite(HERO[13:][::-1], HERO_COLOURS)
    enemy = _sprite(ENEMY, ENEMY_COLOURS)
    clouds = rng.uniform([0, 4], [2 * lw, lh * 0.3], (5, 2)).astype(int)
    yy = np.arange(lh)[:, None]
    for i in range(n_frames):
        cam = i  # one low-resolution pixel per frame
        canvas = np.full((lh, lw), SKY, np.uint8)
        xs = (np.arange(lw) + cam // 2) % len(mountains)  # parallax: half speed
        canvas[yy >= mountains[xs][None, :]] = 13
        for cx, cy in clouds:
            x = (cx - cam // 3) % (2 * lw) - 24
            canvas[cy : cy + 6, max(x, 0) : max(x + 24, 0)] = CLOUD
            canvas[cy - 3 : cy, max(x + 6, 0) : max(x + 16, 0)] = CLOUD
        c0 = cam // TILE
        for r in range(rows):
            for c in range(c0, c0 + lw // TILE + 2):
                v = world[r, c]
                if v < 0:
                    continue
                tile = tiles[f"water{(i // 8) % 4}"] if v == 4 else tiles[names[v]]
                _blit(canvas, tile, c * TILE - cam, r * TILE - shift)
        ground_y = (ground_row - 1) * TILE - shift

        for n in range(3):  # enemies walk left, in world coordinates
            ex = (lw + n * 130 - i // 2 - cam) % 390 - 16
            _blit(canvas, enemy if (i // 6) % 2 else enemy[:, ::-1], ex, stand(ex + cam))
        for n in range(6):  # spinning coins: width cycles 6, 4, 2, 4
            cx = (40 + n * 57 - cam) % (57 * 6) - 16
            width = (6, 4, 2, 4)[(i // 5 + n) % 4]
            top = ground_y - 24
            canvas[top : top + 8, max(cx + (6 - width) // 2, 0) : max(cx + (6 + width) // 2, 0)] = (
                10
            )
        jump = (i % 45) / 45
        floor = stand(lw // 3 + cam)
        hy = floor - int(48 * jump * (1 - jump) * 4) if (i // 45) % 2 else floor
        _blit(canvas, hero_step if (i // 4) % 2 and hy == floor else hero, lw // 3, hy)
        canvas[1:8, 1:60] = 0
        _hud(canvas, f"{i * 10 + 1000:06d}", 2, 2, 7)
        _hud(canvas, f"{(i // fps) % 1000:03d}", 40, 2, 10)
        rgb = GAME_PALETTE[canvas]
        yield np.ascontiguousarray(rgb.repeat(PIXEL, axis=0).repeat(PIXEL, axis=1))


KINDS = {
    k.name: k
    for k in (
        Kind("camera", 24, camera_frames, "photographs: pans, zoom, cuts, fade, sensor noise"),
        Kind("cartoon", 24, cartoon_frames, "flat fills, AA outlines, gradient sky, one hard cut"),
        Kind("screen", 30, screen_frames, "desktop: typing, scrolling terminal, cursor, buttons"),
        Kind("game", 30, game_frames, "4x pixel art, integer scrolling, 24-colour palette"),
    )
}


# --- writing -----------------------------------------------------------------------------------


def clip_path(kind: str, size: Size = DEFAULT_SIZE, seconds: float = DEFAULT_SECONDS) -> Path:
    """Where the clip of this kind, size and length is cached."""
    return CORPUS_DIR / f"{kind}_{size[0]}x{size[1]}_{seconds:g}s.mp4"


def write_clip(path: Path, frames: Iterator[np.ndarray], size: Size, fps: int) -> int:
    """Encode RGB frames to an H.264 mp4 (yuv420p, BT.709 limited range); return the count."""
    count = 0
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {**X264_OPTIONS, "g": str(2 * fps)}
        # Converted and tagged as BT.709, so every reader turns it back into the same RGB.
        ctx = video.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = 1  # BT.709
        ctx.color_range = 1  # limited ("MPEG") range
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
            count += 1
        container.mux(video.encode(None))
    return count


def ensure_clip(
    kind: str, size: Size = DEFAULT_SIZE, seconds: float = DEFAULT_SECONDS, *, force: bool = False
) -> Path:
    """The cached clip, made first when it is missing (or when ``force``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    w, h = size
    if w % 2 or h % 2 or w < 64 or h < 64:
        raise ValueError(f"size must be even and at least 64x64, got {w}x{h}")
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    path = clip_path(kind, size, seconds)
    if path.exists() and not force:
        return path
    spec = KINDS[kind]
    n_frames = max(2, round(seconds * spec.fps))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    print(f"making {path.name} ({n_frames} frames, {spec.about}) ...", flush=True)
    write_clip(tmp, spec.frames(size, n_frames, spec.fps), size, spec.fps)
    tmp.replace(path)
    return path


def parse_size(text: str) -> Size:
    """``"640x360"`` -> (640, 360)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 640x360, got {text!r}") from None
    return w, h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=list(KINDS), action="append", help="default: all")
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, help="WxH (640x360)")
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="length (8)")
    parser.add_argument("--force", action="store_true", help="make clips again even if cached")
    args = parser.parse_args()
    for kind in args.kind or KINDS:
        path = ensure_clip(kind, args.size, args.seconds, force=args.force)
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
