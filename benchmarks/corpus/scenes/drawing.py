"""Drawing helpers of the cartoon and screen kinds: OpenCV shapes at sub-pixel precision."""

from __future__ import annotations

import cv2
import numpy as np

AA = cv2.LINE_AA
INK = (25, 20, 30)  # outline colour


def gradient(h: int, w: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    col = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return np.ascontiguousarray(
        np.broadcast_to(col[:, None, :], (h, w, 3)).round().astype(np.uint8)
    )


def poly(img: np.ndarray, pts: np.ndarray, fill: tuple[int, ...], outline: int) -> None:
    """A flat-filled polygon with an anti-aliased outline (``outline`` px; 0 for none)."""
    p = np.round(pts * 16).astype(np.int32).reshape(-1, 1, 2)  # 4 fractional bits
    cv2.fillPoly(img, [p], fill, AA, shift=4)
    if outline:
        cv2.polylines(img, [p], True, INK, outline, AA, shift=4)


def disc(img: np.ndarray, c: tuple[float, float], r: float, fill: tuple[int, ...], outline: int):
    centre = (round(c[0] * 16), round(c[1] * 16))
    cv2.circle(img, centre, round(r * 16), fill, -1, AA, shift=4)
    if outline:
        cv2.circle(img, centre, round(r * 16), INK, outline, AA, shift=4)


def pt(x: float, y: float) -> tuple[int, int]:
    return round(x * 16), round(y * 16)
