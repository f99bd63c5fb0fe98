"""The cartoon kind: flat fills, anti-aliased outlines, a gradient sky and one hard cut."""

from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np

from . import SEED, Size
from .drawing import AA, INK, disc, gradient, poly, pt


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
        cv2.line(img, pt(x, hip_y), pt(*foot), (40, 60, 140), max(1, round(7 * u)), AA, 4)
    body = np.array([[-13, -44], [13, -44], [15, 0], [-15, 0]], np.float32) * u
    poly(
        img, body + [x, hip_y], (230, 120, 40) if not night else (200, 90, 60), max(1, round(2 * u))
    )
    for side in (-1, 1):  # arms
        hand = (x - side * swing * 14 * u, hip_y - 14 * u)
        cv2.line(
            img, pt(x, hip_y - 38 * u), pt(*hand), (230, 180, 140), max(1, round(5 * u)), AA, 4
        )
    head = (x, hip_y - 58 * u)
    disc(img, head, 15 * u, (245, 200, 160), max(1, round(2 * u)))
    disc(img, (head[0] + 5 * u, head[1] - 3 * u), 2.2 * u, INK, 0)
    disc(img, (head[0] - 4 * u, head[1] - 3 * u), 2.2 * u, INK, 0)
    cap = np.array([[-16, -4], [16, -4], [10, -16], [-10, -16]], np.float32) * u
    poly(img, cap + head, (200, 30, 60), max(1, round(2 * u)))


def cartoon_frames(size: Size, n_frames: int, fps: int) -> Iterator[np.ndarray]:
    """Day scene, then (hard cut at the middle) a night scene; flat colours, hard outlines."""
    w, h = size
    u = min(w / 640, h / 360)  # drawing unit: 1 at 640x360
    rng = np.random.default_rng(SEED + 1)
    day_sky = gradient(h, w, (90, 160, 235), (200, 230, 250))
    night_sky = gradient(h, w, (10, 15, 50), (60, 40, 100))
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
            poly(img, _star(0.84 * w, 0.18 * h, 44 * u, 30 * u, 12, t * 0.8), (255, 200, 40), 0)
            disc(img, (0.84 * w, 0.18 * h), 26 * u, (255, 230, 80), max(1, round(2 * u)))
            for cx, cy, s in clouds:
                x = (cx + 25 * u * t * s) % (w + 160 * u) - 80 * u
                for dx, dy, r in ((-28, 4, 20), (0, -8, 28), (30, 2, 22), (8, 10, 22)):
                    disc(img, (x + dx * s * u, cy + dy * s * u), r * s * u, (250, 250, 255), 0)
        else:
            for j, (sx, sy) in enumerate(stars):
                if (i // 6 + j) % 5:  # twinkle: each star is off one step in five
                    disc(img, (sx, sy), 1.8 * u, (255, 250, 200), 0)
            disc(img, (0.15 * w, 0.2 * h), 30 * u, (240, 240, 210), max(1, round(2 * u)))
            disc(img, (0.15 * w + 12 * u, 0.2 * h - 8 * u), 26 * u, (40, 35, 90), 0)
        far = (120, 190, 90) if not night else (40, 70, 60)
        near = (70, 160, 60) if not night else (25, 50, 45)
        poly(img, _hills(w, h, 0.62 * h, 18 * u, 90 * u, t * 0.3), far, max(1, round(2 * u)))
        poly(img, _hills(w, h, 0.76 * h, 10 * u, 60 * u, t * 0.9), near, max(1, round(2 * u)))
        if night:  # windmill with spinning blades
            mx, my = 0.7 * w, 0.5 * h
            tower = np.array([[-14, 0], [14, 0], [22, 120], [-22, 120]], np.float32) * u + [mx, my]
            poly(img, tower, (150, 110, 80), max(1, round(2 * u)))
            for b in range(4):
                a = t * 2.0 + b * math.pi / 2
                d = np.array([math.cos(a), math.sin(a)])
                n = np.array([-d[1], d[0]])
                blade = np.array([d * 8 + n * 6, d * 70 + n * 12, d * 70 - n * 2, d * 8 - n * 2])
                poly(img, blade * u + [mx, my], (230, 230, 240), max(1, round(2 * u)))
            disc(img, (mx, my), 7 * u, (120, 60, 60), max(1, round(2 * u)))
        # The ball bounces on the ground (|sin| arc) while it rolls across.
        period = 1.1
        bx = (0.1 + 0.8 * ((t * 0.12) % 1.0)) * w
        by = ground - 22 * u - 150 * u * abs(math.sin(math.pi * t / period))
        shadow = 1.0 - (ground - 22 * u - by) / (170 * u)
        cv2.ellipse(
            img,
            pt(bx, ground + 4 * u),
            pt(22 * u * shadow, 5 * u * shadow),
            0,
            0,
            360,
            (50, 90, 40) if not night else (15, 30, 30),
            -1,
            AA,
            4,
        )
        disc(img, (bx, by), 22 * u, (220, 40, 40), max(1, round(3 * u)))
        disc(img, (bx - 7 * u, by - 8 * u), 6 * u, (255, 160, 150), 0)
        walk = (t - (cut / fps if night else 0)) * 55 * u
        fx = (0.1 * w + walk) if not night else (0.9 * w - walk)
        _figure(img, fx, ground, u, t, night)
        yield img
