"""Still pictures through the video path's palette manager, with exact nearest colours.

``vidquant image`` and ``vidquant explore`` quantise one picture at a time: a palette from
:func:`vidquant.palette.fit_palette` (the method the user picked; ``minibatch`` is the video
keyframe fit itself), finished for the k-means methods by Lloyd passes over all the picture's
colours, labels from the exact nearest-colour search (:func:`vidquant.colours.nearest_entries`),
and an indexed PNG or a one-frame ``.vq`` out.

A video frame is labelled through the quantiser's lookup table instead, which is built once for
many frames and serves temporal stickiness; its nearest-to-the-cell-centre answer costs a
still picture up to 0.5 dB at k=256 and saves it no time (benchmarks/bench_image.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from vidquant.codec.container import ContainerWriter
from vidquant.codec.format import MAX_HEIGHT, MAX_WIDTH
from vidquant.codec.meta import make_meta
from vidquant.codec.records import Header
from vidquant.colours import colour_histogram, distinct_colours, nearest_entries
from vidquant.encoder import FrameCoder, QuantizedFrame
from vidquant.errors import SettingsError
from vidquant.fileutil import atomic_path, check_output
from vidquant.frames import PaletteFrame
from vidquant.io.image import Picture, indexed_png, read_picture, write_bytes
from vidquant.metrics import psnr
from vidquant.palette import METHODS, fit_palette
from vidquant.settings import check_k

__all__ = [
    "METHODS",
    "ImageReport",
    "Quantized",
    "compare_methods",
    "quantize_file",
    "quantize_image",
    "write_still_vq",
]


@dataclass(frozen=True, eq=False)
class Quantized:
    """One picture quantised by one method.

    Attributes
    ----------
    method
        The palette method (one of :data:`METHODS`).
    k
        The palette size asked for.
    palette
        The colours found, shape (n, 3), uint8, n <= k (fewer when the picture has fewer).
    labels
        Palette index of every pixel, shape (height, width), uint8.
    psnr_db
        PSNR of the quantised picture against the original, dB (inf when identical).
    colours_before, colours_after
        Distinct colours in the original and in the quantised picture.
    fit_s, assign_s
        Seconds spent finding the palette (with the picture's colour histogram) and labelling
        every pixel with it.
    """

    method: str
    k: int
    palette: np.ndarray
    labels: np.ndarray
    psnr_db: float
    colours_before: int
    colours_after: int
    fit_s: float
    assign_s: float

    @property
    def rgb(self) -> np.ndarray:
        """The quantised picture, (height, width, 3) uint8."""
        return self.palette[self.labels]

    @property
    def seconds(self) -> float:
        """Fit and assignment time, seconds."""
        return self.fit_s + self.assign_s

    def png(self, *, optimize: bool = True) -> bytes:
        """The picture as an indexed PNG (bit depth from the palette size)."""
        return indexed_png(self.labels, self.palette, optimize=optimize)


def check_method(method: str) -> None:
    """Raise :class:`SettingsError` for a method name that is not one of :data:`METHODS`."""
    if method not in METHODS:
        raise SettingsError(
            f"--method must be one of {', '.join(METHODS)}, got {method!r}", setting="method"
        )


def quantize_image(
    rgb: np.ndarray,
    k: int,
    *,
    method: str = "minibatch",
    seed: int = 0,
) -> Quantized:
    """Quantise a picture to at most ``k`` colours.

    Parameters
    ----------
    rgb
        The picture, (height, width, 3) uint8.
    k
        Palette size, 2..256.
    method
        How the palette is found; see :func:`vidquant.palette.fit_palette`.
    seed
        The same seed gives the same palette.

    Raises
    ------
    SettingsError
        ``k`` or ``method`` out of range.
    """
    check_k(k)
    check_method(method)
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    t0 = time.perf_counter()
    palette = fit_palette(rgb, k, method, seed=seed)
    colours, counts, inverse = colour_histogram(rgb)
    if method in _K_MEANS and len(palette) == k:
        palette = _lloyd(colours, counts, palette, passes=LLOYD_PASSES)
    t1 = time.perf_counter()
    nearest = nearest_entries(colours, palette)
    labels = nearest[inverse].reshape(rgb.shape[:2])
    t2 = time.perf_counter()
    out = palette[labels]
    return Quantized(
        method=method,
        k=k,
        palette=palette,
        labels=labels,
        psnr_db=psnr(rgb, out),
        colours_before=len(colours),
        colours_after=len(np.unique(nearest)),  # palette entries are distinct colours
        fit_s=t1 - t0,
        assign_s=t2 - t1,
    )


# The k-means methods fit on a pixel sample; these passes of Lloyd's algorithm over all the
# picture's distinct colours (weighted by their pixels) finish the fit. On ten photos
# (benchmarks/bench_image.py) they bring k=256 from 39.97 to about 40.2 dB for about 20 ms.
LLOYD_PASSES = 2
_K_MEANS = ("minibatch", "kmeans")


def _lloyd(
    colours: np.ndarray, counts: np.ndarray, palette: np.ndarray, *, passes: int
) -> np.ndarray:
    """``passes`` k-means steps: each entry moves to the mean of the pixels nearest to it (an
    entry no pixel is nearest to stays)."""
    x = colours.astype(np.float64)
    w = counts.astype(np.float64)
    for _ in range(passes):
        nearest = nearest_entries(colours, palette)
        n = np.bincount(nearest, weights=w, minlength=len(palette))
        sums = np.stack(
            [np.bincount(nearest, weights=w * x[:, c], minlength=len(palette)) for c in range(3)],
            axis=1,
        )
        used = n > 0
        moved = palette.copy()
        moved[used] = np.clip(np.rint(sums[used] / n[used, None]), 0, 255).astype(np.uint8)
        if np.array_equal(moved, palette):
            break
        palette = moved
    return distinct_colours(palette)  # two entries may have met


def compare_methods(
    rgb: np.ndarray, k: int, *, methods: Iterable[str] = METHODS, seed: int = 0
) -> list[Quantized]:
    """:func:`quantize_image` with each method, in the order given."""
    return [quantize_image(rgb, k, method=m, seed=seed) for m in methods]


def write_still_vq(
    result: Quantized,
    dst: Path,
    *,
    source: Path | None = None,
    codec: str | None = None,
    pix_fmt: str | None = None,
    time_s: float | None = None,
) -> int:
    """Write ``result`` as a one-frame ``.vq`` (a keyframe shown for one second).

    The header's k is the palette's size (at least 2: a one-colour picture gets its colour
    twice). ``source``, ``codec`` and ``pix_fmt`` describe the source in the header's
    metadata, with ``time_s``, the time of a video source's frame. Returns the file size in
    bytes.

    Raises
    ------
    SettingsError
        The picture is larger than a ``.vq`` frame may be (7680x4320).
    """
    h, w = result.labels.shape
    if w > MAX_WIDTH or h > MAX_HEIGHT:
        raise SettingsError(
            f"a .vq frame is at most {MAX_WIDTH}x{MAX_HEIGHT}, got {w}x{h}", setting="vq"
        )
    palette = result.palette
    if len(palette) < 2:
        palette = np.concatenate([palette, palette])
    k = len(palette)
    meta = make_meta(
        still={"method": result.method, "k": result.k, "time_s": time_s},
        source={
            "name": source.name if source else None,
            "codec": codec,
            "pix_fmt": pix_fmt,
            "width": w,
            "height": h,
        },
    )
    time_base = Fraction(1, 1000)
    header = Header(width=w, height=h, fps=Fraction(1), time_base=time_base, k=k, meta=meta)
    # One keyframe shown for a second, coded by the video encoder's own label-coding stage.
    frame = PaletteFrame(0, 0, 1000, time_base, result.labels, palette, True)
    keyframe = QuantizedFrame(frame, np.arange(k, dtype=np.uint8), palette, None, None, False)
    with atomic_path(dst) as tmp, open(tmp, "wb") as f:
        coder = FrameCoder(ContainerWriter(f, header))
        coder.code(keyframe)
        coder.flush()
        size = f.tell()
    return size


@dataclass(frozen=True, eq=False)
class ImageReport:
    """What :func:`quantize_file` did.

    Attributes
    ----------
    source
        The picture read (its path, pixels, and time for a video frame).
    source_bytes
        Size of the source file, bytes.
    result
        The quantised picture and its figures.
    png_path, png_bytes
        The indexed PNG written and its size.
    vq_path, vq_bytes
        The one-frame ``.vq``, when one was asked for.
    """

    source: Picture
    source_bytes: int
    result: Quantized
    png_path: Path
    png_bytes: int
    vq_path: Path | None = None
    vq_bytes: int | None = None

    @property
    def raw_bytes(self) -> int:
        """Size of the picture as uncompressed 8-bit RGB."""
        h, w, _ = self.source.rgb.shape
        return h * w * 3

    @property
    def ratio(self) -> float | None:
        """Source file size over indexed PNG size (below 1: the PNG is larger); None for a
        video's frame, whose file holds a whole video."""
        if self.source.time_s is not None:
            return None
        return self.source_bytes / self.png_bytes


def quantize_file(
    src: str | Path,
    dst: str | Path,
    k: int,
    *,
    method: str = "minibatch",
    seed: int = 0,
    vq: str | Path | None = None,
    time_s: float = 0.0,
    force: bool = False,
) -> ImageReport:
    """Quantise a picture file (or a video's frame) to an indexed PNG, and a ``.vq`` if asked.

    Raises
    ------
    InputError
        ``src`` cannot be read as a picture or video.
    SettingsError
        ``k`` or ``method`` out of range, or ``dst``/``vq`` with the wrong suffix.
    OutputError
        An output exists (without ``force``), is the source, or its folder is missing.
    """
    src, dst = Path(src), Path(dst)
    vq = Path(vq) if vq is not None else None
    check_k(k)
    check_method(method)
    if dst.suffix.lower() != ".png":
        raise SettingsError(f"-o must name a .png file, got {dst}", setting="output")
    if vq is not None and vq.suffix.lower() != ".vq":
        raise SettingsError(f"--vq must name a .vq file, got {vq}", setting="vq")
    check_output(dst, force=force, inputs=(src,))
    if vq is not None:
        check_output(vq, force=force, inputs=(src,))
    picture = read_picture(src, time_s=time_s)
    h, w, _ = picture.rgb.shape
    if vq is not None and (w > MAX_WIDTH or h > MAX_HEIGHT):
        raise SettingsError(
            f"--vq: a .vq frame is at most {MAX_WIDTH}x{MAX_HEIGHT} and {src.name} is "
            f"{w}x{h}; write the PNG alone, or scale the picture down first",
            setting="vq",
        )
    result = quantize_image(picture.rgb, k, method=method, seed=seed)
    png = result.png()
    write_bytes(dst, png)
    vq_bytes = None
    if vq is not None:
        vq_bytes = write_still_vq(
            result,
            vq,
            source=src,
            codec=picture.codec,
            pix_fmt=picture.pix_fmt,
            time_s=picture.time_s,
        )
    return ImageReport(
        source=picture,
        source_bytes=src.stat().st_size,
        result=result,
        png_path=dst,
        png_bytes=len(png),
        vq_path=vq,
        vq_bytes=vq_bytes,
    )
