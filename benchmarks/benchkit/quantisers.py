"""The still-image quantisers ``bench_image`` compares: vidquant's methods and the references.

Every one makes an indexed PNG of a photo at a palette size k, without dithering, and reports
how long it took (:class:`Encoded`).
"""

from __future__ import annotations

import functools
import io
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from vidquant.apps.still import quantize_image

from .photos import Photo
from .procs import ToolError, run_tool
from .quality import PSNR_CAP_DB
from .references import gif_filter, palettegen_refuses

SHORT = {"minibatch": "mb", "kmeans": "km", "mediancut": "mcut", "agglomerative": "aggl"}  # columns

try:
    import imagequant
except ImportError:
    imagequant = None


@dataclass(frozen=True)
class Encoded:
    """What one quantiser made of one photo.

    Attributes
    ----------
    png
        The indexed PNG file.
    total_s
        Wall time of quantisation and PNG writing, seconds; for a program, its whole process
        (start-up, reading the true-colour PNG, writing the output).
    quant_s
        Wall time of the quantisation alone (palette and remapping), when it can be separated.
    extra
        Quantiser-specific figures for the JSON.
    """

    png: bytes
    total_s: float
    quant_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# The quantiser's job: (photo, k, the photo as a true-colour PNG, output path) -> Encoded, or
# None when k is outside what it supports. A program that fails raises procs.ToolError.
Run = Callable[[Photo, int, Path, Path], Encoded | None]


@dataclass(frozen=True)
class Quantiser:
    """A quantiser under test: its name in the summary, a short column name, and its job."""

    name: str
    short: str
    run: Run


def pillow_png(image: Image.Image) -> bytes:
    """The PNG Pillow writes for ``image`` with ``optimize=True``."""
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def run_vidquant(photo: Photo, k: int, src: Path, dst: Path, *, method: str) -> Encoded:
    t0 = time.perf_counter()
    result = quantize_image(photo.rgb, k, method=method)
    t1 = time.perf_counter()
    png = result.png(optimize=True)
    t2 = time.perf_counter()
    extra = {
        "fit_ms": result.fit_s * 1000,
        "assign_ms": result.assign_s * 1000,
        "psnr_reported_db": min(result.psnr_db, PSNR_CAP_DB),
    }
    return Encoded(png, t2 - t0, t1 - t0, extra)


def run_libimagequant(photo: Photo, k: int, src: Path, dst: Path) -> Encoded:
    t0 = time.perf_counter()
    image = Image.fromarray(photo.rgb).convert("RGBA")
    quantised = imagequant.quantize_pil_image(image, dithering_level=0.0, max_colors=k)
    t1 = time.perf_counter()
    png = pillow_png(quantised)
    t2 = time.perf_counter()
    return Encoded(png, t2 - t0, t1 - t0)


def run_pillow(photo: Photo, k: int, src: Path, dst: Path, *, method: Image.Quantize) -> Encoded:
    t0 = time.perf_counter()
    quantised = Image.fromarray(photo.rgb).quantize(k, method=method, dither=Image.Dither.NONE)
    t1 = time.perf_counter()
    png = pillow_png(quantised)
    t2 = time.perf_counter()
    return Encoded(png, t2 - t0, t1 - t0)


def run_program(cmd: list[str], dst: Path) -> Encoded:
    """Run a quantiser program that writes ``dst``; time its whole process."""
    dst.unlink(missing_ok=True)
    run = run_tool(cmd, memory=False)
    if not dst.exists():
        raise ToolError(cmd, 0, run.stderr)
    return Encoded(dst.read_bytes(), run.wall_s)


def run_pngquant(photo: Photo, k: int, src: Path, dst: Path, *, exe: str) -> Encoded:
    return run_program([exe, "--nofs", "--speed", "1", "-f", "-o", str(dst), str(k), str(src)], dst)


def run_ffmpeg(photo: Photo, k: int, src: Path, dst: Path, *, exe: str) -> Encoded | None:
    if palettegen_refuses(k):
        return None
    cmd = [exe, "-v", "error", "-y", "-i", str(src), "-vf", gif_filter(k)]
    return run_program([*cmd, "-frames:v", "1", "-update", "1", str(dst)], dst)


def quantisers(methods: list[str]) -> list[Quantiser]:
    """vidquant's methods, then the references that are installed (a message for the rest)."""
    found = [
        Quantiser(
            f"vidquant {m}", f"vq {SHORT.get(m, m)}", functools.partial(run_vidquant, method=m)
        )
        for m in methods
    ]
    if imagequant is None:
        print("libimagequant: skipped, PyPI imagequant is not installed (pip install imagequant)")
    else:
        found.append(Quantiser("libimagequant", "liq", run_libimagequant))
    if exe := shutil.which("pngquant"):
        found.append(Quantiser("pngquant", "pngquant", functools.partial(run_pngquant, exe=exe)))
    else:
        print("pngquant: skipped, no pngquant on PATH (Debian: apt-get install pngquant)")
    found += [
        Quantiser(
            "Pillow mediancut",
            "PIL mcut",
            functools.partial(run_pillow, method=Image.Quantize.MEDIANCUT),
        ),
        Quantiser(
            "Pillow fastoctree",
            "PIL octree",
            functools.partial(run_pillow, method=Image.Quantize.FASTOCTREE),
        ),
    ]
    if exe := shutil.which("ffmpeg"):
        found.append(
            Quantiser("ffmpeg palettegen", "ffmpeg", functools.partial(run_ffmpeg, exe=exe))
        )
    else:
        print("ffmpeg palettegen: skipped, no ffmpeg on PATH (Debian: apt-get install ffmpeg)")
    return found
