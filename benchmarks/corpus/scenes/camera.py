"""The camera kind: the sample clip's shots (``sample_media/make_sample.py``), no audio."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from . import Size

ROOT = Path(__file__).resolve().parents[3]


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
