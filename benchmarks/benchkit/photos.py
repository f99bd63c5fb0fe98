"""The photos ``bench_image`` quantises: committed, bundled with scikit-image, or the user's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidquant.io.image import read_picture

from . import SAMPLES

SKIMAGE_PHOTOS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
)
# Frames of the sample clip away from its cuts and its fade: the china pan, the coffee zoom
# and the rocket tilt (sample_media/README.md has the shot list).
VIDEO_TIMES_S = (1.5, 5.0, 11.0)


@dataclass(frozen=True, eq=False)
class Photo:
    """One test picture.

    Attributes
    ----------
    name
        Short name for the tables (``china.jpg``, ``coffee``, ``sample.mp4@5s``).
    source
        Where it came from (a path, or the scikit-image function).
    rgb
        Pixels, (height, width, 3) uint8: the reference for every quality figure.
    """

    name: str
    source: str
    rgb: np.ndarray

    @property
    def pixels(self) -> int:
        return self.rgb.shape[0] * self.rgb.shape[1]


def default_photos() -> list[Photo]:
    """china.jpg, scikit-image's photographs (those this version ships), sample.mp4 frames."""
    photos = [Photo("china.jpg", "sample_media/china.jpg", read_picture(SAMPLES / "china.jpg").rgb)]
    try:
        import skimage.data
    except ImportError:
        print(
            "scikit-image is not installed (pip install -e '.[bench]'): using china.jpg and "
            "sample.mp4 frames only"
        )
    else:
        for name in SKIMAGE_PHOTOS:
            loader = getattr(skimage.data, name, None)
            if loader is None:
                print(f"skimage.data.{name}: not in this scikit-image version, skipped")
                continue
            try:
                rgb = np.asarray(loader())
            except (ImportError, OSError, ValueError) as exc:  # a data file it must download
                print(f"skimage.data.{name}: skipped ({exc})")
                continue
            photos.append(Photo(name, f"skimage.data.{name}()", as_rgb(rgb)))
    clip = SAMPLES / "sample.mp4"
    for t in VIDEO_TIMES_S:
        rgb = read_picture(clip, time_s=t).rgb
        photos.append(Photo(f"sample.mp4@{t:g}s", f"sample_media/sample.mp4 at {t:g} s", rgb))
    return photos


def user_photos(paths: list[Path]) -> list[Photo]:
    """The user's photos, named by file name (by path where two files share a name)."""
    names = [p.name for p in paths]
    return [
        Photo(p.name if names.count(p.name) == 1 else str(p), str(p), read_picture(p).rgb)
        for p in paths
    ]


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 from a grey, RGB or RGBA uint8 array."""
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)


def slug(name: str) -> str:
    """``name`` as a file name: runs of other characters than ``A-Za-z0-9._-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
