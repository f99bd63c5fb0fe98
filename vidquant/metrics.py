"""Quality and rate measures: pure functions on arrays, no I/O."""

from __future__ import annotations

import math

import numpy as np


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error between two images of the same shape (any integer or float dtype)."""
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.mean(diff * diff))


def psnr(a: np.ndarray, b: np.ndarray, *, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of ``b`` against ``a``; ``inf`` when they are equal."""
    err = mse(a, b)
    return math.inf if err == 0 else 10.0 * math.log10(peak * peak / err)


def bitrate_kbps(nbytes: int, duration_s: float) -> float:
    """Bits per second over ``duration_s``, in kilobits per second (1 kbit = 1000 bits)."""
    if duration_s <= 0:
        raise ValueError(f"duration must be > 0, got {duration_s}")
    return nbytes * 8 / 1000 / duration_s
