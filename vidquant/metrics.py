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


# Reports give identical frames this PSNR instead of infinity (JSON has no inf).
PSNR_CAP_DB = 100.0


def psnr(a: np.ndarray, b: np.ndarray, *, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of ``b`` against ``a``; ``inf`` when they are equal."""
    err = mse(a, b)
    return math.inf if err == 0 else 10.0 * math.log10(peak * peak / err)


def bitrate_kbps(nbytes: int, duration_s: float) -> float:
    """Bits per second over ``duration_s``, in kilobits per second (1 kbit = 1000 bits)."""
    if duration_s <= 0:
        raise ValueError(f"duration must be > 0, got {duration_s}")
    return nbytes * 8 / 1000 / duration_s


# SSIM constants from Wang, Bovik, Sheikh and Simoncelli (2004), "Image quality assessment: from
# error visibility to structural similarity": an 11x11 Gaussian window of sigma 1.5 and
# K1 = 0.01, K2 = 0.03 of the dynamic range.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_SSIM_K1, _SSIM_K2 = 0.01, 0.03

# Flicker counts a pixel as still in the source when no channel moved by more than this many
# 8-bit levels between two frames: above camera and compression noise on clean footage, below
# any real motion.
STILL_THRESHOLD = 2


def luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` of an (h, w, 3) image, float64, 0..255."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    w = np.exp(-(x * x) / (2 * sigma * sigma))
    return w / w.sum()


def _filter_valid(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable filtering keeping only the 'valid' part (no padding), as Wang et al. do."""
    n = len(kernel)
    h, w = image.shape
    rows = kernel[0] * image[:, : w - n + 1]
    for i in range(1, n):
        rows += kernel[i] * image[:, i : w - n + 1 + i]
    out = kernel[0] * rows[: h - n + 1]
    for i in range(1, n):
        out += kernel[i] * rows[i : h - n + 1 + i]
    return out


def ssim(a: np.ndarray, b: np.ndarray, *, peak: float = 255.0) -> float:
    """Mean structural similarity of ``b`` against ``a``, on luma.

    Follows Wang et al. (2004): an 11x11 Gaussian window (sigma 1.5), ``C1 = (0.01 peak)^2``,
    ``C2 = (0.03 peak)^2``, population (not sample) statistics, and the mean of the SSIM map over
    the positions where the window fits whole (no padding). Images are not downsampled first.

    Parameters
    ----------
    a, b
        RGB images (h, w, 3) or grey images (h, w) of the same shape, 0..``peak``; h and w at
        least 11.
    peak
        The dynamic range of the pixel values.

    Returns
    -------
    float
        1.0 for identical images; lower is worse (it can go below 0).

    Raises
    ------
    ValueError
        The shapes differ or an image is smaller than the window.
    """
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    x = luma(a) if a.ndim == 3 else np.asarray(a, dtype=np.float64)
    y = luma(b) if b.ndim == 3 else np.asarray(b, dtype=np.float64)
    if min(x.shape) < SSIM_WINDOW:
        raise ValueError(f"images must be at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {x.shape}")
    kernel = _gaussian_kernel(SSIM_WINDOW, SSIM_SIGMA)
    mu_x = _filter_valid(x, kernel)
    mu_y = _filter_valid(y, kernel)
    var_x = _filter_valid(x * x, kernel) - mu_x * mu_x
    var_y = _filter_valid(y * y, kernel) - mu_y * mu_y
    cov = _filter_valid(x * y, kernel) - mu_x * mu_y
    c1 = (_SSIM_K1 * peak) ** 2
    c2 = (_SSIM_K2 * peak) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return float(np.mean(num / den))


def still_mask(
    prev: np.ndarray, cur: np.ndarray, *, threshold: int = STILL_THRESHOLD
) -> np.ndarray:
    """Pixels that did not move between two frames: every channel changed by <= ``threshold``.

    Returns
    -------
    numpy.ndarray
        Boolean, shape (h, w).
    """
    if prev.shape != cur.shape:
        raise ValueError(f"shapes differ: {prev.shape} vs {cur.shape}")
    change = np.abs(prev.astype(np.int16) - cur.astype(np.int16))
    if change.ndim == 3:
        change = change.max(axis=2)
    return change <= threshold


def mean_abs_change(prev: np.ndarray, cur: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute difference per channel between two frames, in 8-bit levels (0..255).

    Parameters
    ----------
    prev, cur
        Frames of the same shape, (h, w, 3) or (h, w).
    mask
        Boolean (h, w): average over these pixels only; None averages over all.

    Returns
    -------
    float
        The mean, or ``nan`` when ``mask`` selects no pixel.
    """
    if prev.shape != cur.shape:
        raise ValueError(f"shapes differ: {prev.shape} vs {cur.shape}")
    change = np.abs(prev.astype(np.int16) - cur.astype(np.int16))
    if mask is not None:
        if mask.shape != prev.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} does not match frames {prev.shape}")
        change = change[mask]
    return float(change.mean()) if change.size else math.nan


def flicker(
    source_prev: np.ndarray,
    source_cur: np.ndarray,
    output_prev: np.ndarray,
    output_cur: np.ndarray,
    *,
    threshold: int = STILL_THRESHOLD,
) -> float:
    """How much the output changes between two frames where the source stands still.

    The mean absolute change of ``output`` from ``output_prev`` to ``output_cur``, per channel,
    in 8-bit levels (0..255), over the pixels whose source did not move (every channel of
    ``source`` changed by at most ``threshold`` levels). A faithful codec scores about the
    source's own noise there; palette jumps and label dithering between frames score more.

    Parameters
    ----------
    source_prev, source_cur
        Two consecutive source frames, (h, w, 3) uint8.
    output_prev, output_cur
        The decoded frames shown at the same two times, same shape.
    threshold
        Largest per-channel source change, in levels, of a still pixel.

    Returns
    -------
    float
        Levels per channel; ``nan`` when no pixel is still.
    """
    mask = still_mask(source_prev, source_cur, threshold=threshold)
    return mean_abs_change(output_prev, output_cur, mask)
