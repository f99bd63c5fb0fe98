"""The image the window shows: a frame alone, or beside its original with labels."""

from __future__ import annotations

import math

import cv2
import numpy as np

_LABEL_STRIP_PX = 22  # height of the label strip under a side-by-side view


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
