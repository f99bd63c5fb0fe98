"""Benchmark vidquant's still-image quantisers against libimagequant, pngquant, Pillow and FFmpeg.

For a set of photographs (``sample_media/china.jpg``, scikit-image's bundled photographs and a
few frames of ``sample_media/sample.mp4``, or the user's own with ``--photo``) and each palette
size k, every quantiser makes an indexed PNG of the photo without dithering:

- vidquant: ``quantize_image(rgb, k, method=M)`` for each method, PNG by ``Quantized.png()``
  (vidquant's own writer: smallest bit depth, no row filter, zlib level 9);
- libimagequant: PyPI ``imagequant`` (``quantize_pil_image``, dithering 0), PNG by Pillow
  with ``optimize=True``;
- the ``pngquant`` program (``--nofs --speed 1``), with its own PNG writer;
- Pillow's median cut and fast octree (``Image.quantize``), the GIF-style baselines, PNG by
  Pillow with ``optimize=True``;
- FFmpeg's palettegen + paletteuse on the one picture, with its own PNG writer.

Every output PNG is decoded again by Pillow to RGB and compared with the same original array,
so PSNR, file size and colours used are measured one way for all. It prints a table per k and
a verdict on vidquant's default (minibatch) against libimagequant and pngquant, and writes
``benchmarks/out/image_results.md`` and ``image_results.json`` (per-photo figures); the PNGs
stay in ``benchmarks/out/image_runs/``. Nothing is asserted. See ``benchmarks/README.md``.

Usage: python benchmarks/bench_image.py [--k 16,64,256] [--photo PATH ...] [--quick]
[--methods minibatch,kmeans,...]
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import bench_codec  # noqa: E402  (machine facts)

from vidquant.apps.still import METHODS, quantize_image  # noqa: E402
from vidquant.colours import count_colours  # noqa: E402
from vidquant.io.image import read_picture, rgb_png  # noqa: E402
from vidquant.metrics import psnr  # noqa: E402

try:
    import imagequant
except ImportError:
    imagequant = None

OUT = HERE / "out"
WORK = OUT / "image_runs"  # the input and output PNGs, kept for inspection
SAMPLES = HERE.parent / "sample_media"
DEFAULT_K = (16, 64, 256)
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
PSNR_CAP_DB = 100.0  # an exact output scores this instead of infinity (JSON has no inf)
DEFAULT = "vidquant minibatch"  # the quantiser `vidquant image` uses without --method
REFERENCES = ("libimagequant", "pngquant")  # what the verdicts compare it with
SHORT = {"minibatch": "mb", "kmeans": "km", "mediancut": "mcut", "agglomerative": "aggl"}  # columns
PNG_FILTERS = ("none", "sub", "up", "average", "paeth")  # PNG row filter types 0..4


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


class ToolError(RuntimeError):
    """An external quantiser failed on one photo (the run goes on without that figure)."""


# The quantiser's job: (photo, k, the photo as a true-colour PNG, output path) -> Encoded, or
# None when k is outside what it supports.
Run = Callable[[Photo, int, Path, Path], Encoded | None]


@dataclass(frozen=True)
class Quantiser:
    """A quantiser under test: its name in the summary, a short column name, and its job."""

    name: str
    short: str
    run: Run


# --- the quantisers ------------------------------------------------------------------------


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


def run_tool(cmd: list[str], dst: Path) -> Encoded:
    """Run a quantiser program that writes ``dst``; time its whole process."""
    dst.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not dst.exists():
        lines = proc.stderr.strip().splitlines() or ["no message"]
        raise ToolError(f"{Path(cmd[0]).name} exited {proc.returncode}: {lines[-1]}")
    return Encoded(dst.read_bytes(), wall)


def run_pngquant(photo: Photo, k: int, src: Path, dst: Path, *, exe: str) -> Encoded:
    return run_tool([exe, "--nofs", "--speed", "1", "-f", "-o", str(dst), str(k), str(src)], dst)


def run_ffmpeg(photo: Photo, k: int, src: Path, dst: Path, *, exe: str) -> Encoded | None:
    if not 4 <= k <= 256:
        return None  # palettegen's max_colors range
    graph = (
        f"split[a][b];[a]palettegen=max_colors={k}:stats_mode=full:reserve_transparent=0[p];"
        "[b][p]paletteuse=dither=none"
    )
    cmd = [exe, "-v", "error", "-y", "-i", str(src), "-vf", graph]
    return run_tool([*cmd, "-frames:v", "1", "-update", "1", str(dst)], dst)


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


# --- photos --------------------------------------------------------------------------------


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


def as_rgb(pixels: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 from a grey, RGB or RGBA uint8 array."""
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3], dtype=np.uint8)


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


# --- measuring -----------------------------------------------------------------------------


def png_layout(png: bytes) -> dict[str, Any]:
    """Bit depth, palette entries, IDAT bytes and the row filters an indexed PNG uses.

    The filters matter for size: PNG's filters predict a byte from its neighbours, which fits
    smooth true-colour pictures, not palette indices (the PNG spec recommends filter none for
    indexed images).
    """
    pos, chunks = 8, []
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8].decode("latin-1"), png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    idat = b"".join(body for kind, body in chunks if kind == "IDAT")
    plte = sum(len(body) for kind, body in chunks if kind == "PLTE")
    filters: dict[str, int] | None = None
    if not interlace:  # an interlaced image's rows are spread over seven passes
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
        stride = 1 + math.ceil(width * depth * channels / 8)
        raw = zlib.decompress(idat)
        counts = Counter(raw[row * stride] for row in range(height))
        filters = {PNG_FILTERS[f]: n for f, n in sorted(counts.items())}
    return {
        "bit_depth": depth,
        "palette_entries": plte // 3,
        "idat_bytes": len(idat),
        "other_chunks": sorted({kind for kind, _ in chunks} - {"IHDR", "PLTE", "IDAT", "IEND"}),
        "filters": filters,
    }


def layout_label(layout: dict[str, Any]) -> str:
    """``4-bit adaptive``, ``8-bit none``: the PNG's bit depth and its row filters."""
    filters = layout["filters"]
    kind = "?" if filters is None else (next(iter(filters)) if len(filters) == 1 else "adaptive")
    return f"{layout['bit_depth']}-bit {kind}"


def best_of(
    repeat: int, quantiser: Quantiser, photo: Photo, k: int, src: Path, dst: Path
) -> tuple[Encoded | None, bool]:
    """Run ``repeat`` times; the first run's file with the shortest total time of all runs,
    that run's quantisation time and figures, and whether every run wrote the same file.

    The machine is shared, so one timing can be far off; the shortest is the least disturbed.
    """
    first = quantiser.run(photo, k, src, dst)
    if first is None:
        return None, True
    best, same = first, True
    for _ in range(repeat - 1):
        again = quantiser.run(photo, k, src, dst)
        best = again if again.total_s < best.total_s else best
        same = same and again.png == first.png
    return Encoded(first.png, best.total_s, best.quant_s, best.extra), same


def plain_png_bytes(indices: np.ndarray, entries: int) -> int:
    """Size of an indexed PNG of ``indices`` with an RGB palette of ``entries`` colours, written
    at the smallest bit depth that holds them, filter none on every row, zlib level 9.

    The same writer for every quantiser's output: the size its palette, indices and index
    order cost, apart from the choices of the PNG writer it came with.
    """
    depth = next(d for d in (1, 2, 4, 8) if entries <= 1 << d)
    per_byte = 8 // depth
    height, width = indices.shape
    padded = np.pad(indices.astype(np.uint8), ((0, 0), (0, -width % per_byte)))
    groups = padded.reshape(height, -1, per_byte)
    shifts = (np.arange(per_byte)[::-1] * depth).astype(np.uint8)
    packed = np.bitwise_or.reduce(groups << shifts, axis=2).astype(np.uint8)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), packed], axis=1)
    idat = zlib.compress(rows.tobytes(), 9)
    # signature 8, IHDR 12 + 13, PLTE 12 + 3 per entry, IDAT 12 + data, IEND 12
    return 8 + 25 + 12 + 3 * entries + 12 + len(idat) + 12


def measure(
    photo: Photo, k: int, quantiser: Quantiser, src: Path, *, repeat: int = 1
) -> dict[str, Any] | None:
    """Run one quantiser on one photo; decode its PNG and compare it with the original."""
    dst = WORK / f"{slug(photo.name)}_k{k}_{slug(quantiser.short)}.png"
    try:
        encoded, same = best_of(repeat, quantiser, photo, k, src, dst)
    except ToolError as exc:
        print(f"  {quantiser.name} on {photo.name}, k={k}: failed, {exc}")
        return None
    if encoded is None:
        return None
    dst.write_bytes(encoded.png)
    layout = png_layout(encoded.png)
    with Image.open(io.BytesIO(encoded.png)) as image:
        # Through RGBA: an indexed PNG may carry a tRNS chunk (libimagequant's palette is
        # RGBA); all photos are opaque, and a transparent pixel would be counted below.
        rgba = np.asarray(image.convert("RGBA"))
        plain = None
        if image.mode == "P":  # the entries used: a writer may pad the palette to 256
            indices = np.asarray(image)
            plain = plain_png_bytes(indices, int(indices.max()) + 1)
    decoded = np.ascontiguousarray(rgba[..., :3])
    return {
        "photo": photo.name,
        "k": k,
        "quantiser": quantiser.name,
        "psnr_db": min(psnr(photo.rgb, decoded), PSNR_CAP_DB),
        "png_bytes": len(encoded.png),
        "bpp": len(encoded.png) * 8 / photo.pixels,
        "plain_png_bytes": plain,
        "quant_ms": None if encoded.quant_s is None else encoded.quant_s * 1000,
        "total_ms": encoded.total_s * 1000,
        "colours": count_colours(decoded),
        "transparent_pixels": int(np.count_nonzero(rgba[..., 3] < 255)),
        "png": layout,
        "png_label": layout_label(layout),
        "repeats": repeat,
        "same_output": same,
        **encoded.extra,
    }


def warm_up(found: list[Quantiser], photo: Photo) -> None:
    """One untimed run of each on a corner of the photo: imports, caches and page-ins."""
    corner = Photo("warm-up", photo.source, np.ascontiguousarray(photo.rgb[:96, :96]))
    src = WORK / "warm-up.png"
    src.write_bytes(rgb_png(corner.rgb))
    for quantiser in found:
        measure(corner, 16, quantiser, src)
    for path in WORK.glob("warm-up*.png"):
        path.unlink()


def summarise(runs: list[dict[str, Any]], names: list[str]) -> dict[str, dict[str, Any]]:
    """Per quantiser, over the photos it ran on: mean PSNR, bpp and ms, total bytes."""
    out = {}
    for name in names:
        rs = [r for r in runs if r["quantiser"] == name]
        if not rs:
            continue
        quant = [r["quant_ms"] for r in rs]
        plain = [r["plain_png_bytes"] for r in rs]
        out[name] = {
            "photos": len(rs),
            "psnr_db": float(np.mean([r["psnr_db"] for r in rs])),
            "bpp": float(np.mean([r["bpp"] for r in rs])),
            "png_kb": sum(r["png_bytes"] for r in rs) / 1000,
            "plain_kb": None if None in plain else sum(plain) / 1000,
            "quant_ms": None if None in quant else float(np.mean(quant)),
            "total_ms": float(np.mean([r["total_ms"] for r in rs])),
            "colours": float(np.mean([r["colours"] for r in rs])),
            "png": Counter(r["png_label"] for r in rs).most_common(1)[0][0],
        }
    return out


def size_ratio(pairs: list[tuple[dict[str, Any], dict[str, Any]]], key: str) -> float | None:
    """Geometric mean over photos of our bytes over theirs (None when a figure is missing)."""
    if any(a[key] is None or b[key] is None for a, b in pairs):
        return None
    return float(np.exp(np.mean([np.log(a[key] / b[key]) for a, b in pairs])))


def percent(ratio: float) -> str:
    change = (ratio - 1) * 100
    return f"{abs(change):.1f} % {'larger' if change > 0 else 'smaller'}"


def verdict(k: int, runs: list[dict[str, Any]]) -> str:
    """vidquant's default against libimagequant and pngquant at ``k``, in plain figures."""
    mine = {r["photo"]: r for r in runs if r["quantiser"] == DEFAULT}
    if not mine:
        return f"k={k}: {DEFAULT} was not run."
    parts = []
    for ref in REFERENCES:
        theirs = {r["photo"]: r for r in runs if r["quantiser"] == ref and r["photo"] in mine}
        if not theirs:
            parts.append(f"  vs {ref}: not measured")
            continue
        pairs = [(mine[p], theirs[p]) for p in theirs]
        a_db = np.mean([a["psnr_db"] for a, _ in pairs])
        b_db = np.mean([b["psnr_db"] for _, b in pairs])
        a_kb = sum(a["png_bytes"] for a, _ in pairs) / 1000
        b_kb = sum(b["png_bytes"] for _, b in pairs) / 1000
        # Each photo counts once: the geometric mean of the size ratios (the total is led by
        # the largest files).
        ratio = size_ratio(pairs, "png_bytes")
        plain = size_ratio(pairs, "plain_png_bytes")
        a_ms = np.mean([a["total_ms"] for a, _ in pairs])
        b_ms = np.mean([b["total_ms"] for _, b in pairs])
        higher = sum(a["psnr_db"] > b["psnr_db"] for a, b in pairs)
        smaller = sum(a["png_bytes"] < b["png_bytes"] for a, b in pairs)
        d_db = a_db - b_db
        plain_text = "" if plain is None else f"; with the plain writer {percent(plain)}"
        parts.append(
            f"  vs {ref}: PSNR {abs(d_db):.2f} dB {'higher' if d_db > 0 else 'lower'} "
            f"({a_db:.2f} vs {b_db:.2f}; higher on {higher}/{len(pairs)} photos); "
            f"PNG {percent(ratio)} per photo (smaller on {smaller}/{len(pairs)}; "
            f"total {a_kb:.0f} vs {b_kb:.0f} kB{plain_text}); "
            f"time x{a_ms / b_ms:.2f} ({a_ms:.0f} vs {b_ms:.0f} ms with PNG writing)"
        )
    return f"k={k}: {DEFAULT}\n" + "\n".join(parts)


# --- output --------------------------------------------------------------------------------

COLUMNS = (  # summary table: header, key, width in the printed table, format
    ("photos", "photos", 8, "d"),
    ("PSNR dB", "psnr_db", 9, ".2f"),
    ("bpp", "bpp", 7, ".3f"),
    ("PNG kB", "png_kb", 8, ".0f"),
    ("plain kB", "plain_kb", 9, ".0f"),
    ("quant ms", "quant_ms", 9, ".0f"),
    ("total ms", "total_ms", 9, ".0f"),
    ("colours", "colours", 8, ".1f"),
    ("PNG", "png", 17, "s"),
)


def cells(row: dict[str, Any]) -> list[str]:
    return ["-" if row[key] is None else format(row[key], f) for _, key, _, f in COLUMNS]


def text_table(summary: dict[str, dict[str, Any]]) -> str:
    head = f"{'quantiser':<22}" + "".join(f"{h:>{w}}" for h, _, w, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for name, row in summary.items():
        line = "".join(f"{c:>{col[2]}}" for c, col in zip(cells(row), COLUMNS, strict=True))
        lines.append(f"{name:<22}{line}")
    return "\n".join(lines)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: dict[str, Any], found: list[Quantiser]) -> str:
    m = report["machine"]
    out = [
        "# Still-image quantisation: vidquant against libimagequant, pngquant, Pillow, FFmpeg",
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, "
        f"load {m['loadavg_1m']} at the start and {report['loadavg_end_1m']} at the end; "
        f"vidquant {m['vidquant']}; run took {report['run_s']:.0f} s.",
        "",
        "PSNR: every output PNG decoded by Pillow to RGB against the same original. bpp: PNG "
        "bytes x 8 / pixels. PNG kB: the files as written (total over the photos). plain kB: "
        "the same indices and palette written at the smallest bit depth, filter none, zlib "
        "level 9, the same for all. quant ms: quantisation only (palette and remapping); total "
        "ms: with PNG writing (for pngquant and ffmpeg, their whole process); the shortest of "
        f"{report['repeat']} runs. PNG: the most common bit depth and row filters of the files.",
    ]
    photos = report["photos"]
    out += ["", "Photos: " + ", ".join(f"{p['name']} ({p['width']}x{p['height']})" for p in photos)]
    for k in report["k"]:
        summary = report["summary"][str(k)]
        rows = [[name, *cells(row)] for name, row in summary.items()]
        out += ["", f"## k = {k}", "", md_table(["quantiser"] + [c[0] for c in COLUMNS], rows)]
        first, *refs = report["verdicts"][str(k)].splitlines()
        out += ["", f"Verdict, {first}:", "", *(f"- {line.strip()}" for line in refs)]
        runs = [r for r in report["runs"] if r["k"] == k]
        names = [q for q in found if q.name in summary]
        for title, key, fmt in (
            ("PSNR dB", "psnr_db", ".2f"),
            ("PNG bytes", "png_bytes", "d"),
            ("total ms", "total_ms", ".0f"),
        ):
            table = []
            for p in photos:
                by = {r["quantiser"]: r for r in runs if r["photo"] == p["name"]}
                table.append(
                    [p["name"]]
                    + [format(by[q.name][key], fmt) if q.name in by else "-" for q in names]
                )
            out += ["", f"### k = {k}: {title} per photo", ""]
            out.append(md_table(["photo"] + [q.short for q in names], table))
    return "\n".join(out) + "\n"


def tool_version(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else None


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- main ----------------------------------------------------------------------------------


def parse_list(text: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if allowed is not None:
        for item in items:
            if item not in allowed:
                raise argparse.ArgumentTypeError(
                    f"must be some of {', '.join(allowed)}, got {item!r}"
                )
    return items


def parse_ks(text: str) -> list[int]:
    try:
        ks = [int(item) for item in parse_list(text)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"k must be integers, got {text!r}") from exc
    for k in ks:
        if not 2 <= k <= 256:
            raise argparse.ArgumentTypeError(f"k must be 2..256, got {k}")
    return ks


def main() -> None:
    """Quantise every photo at every k with every quantiser; print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=parse_ks, help="palette sizes, comma-separated (16,64,256)")
    parser.add_argument(
        "--photo", action="append", type=Path, help="a photo of yours instead of the defaults"
    )
    parser.add_argument("--quick", action="store_true", help="one photo, k = 16")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the times are the shortest"
    )
    parser.add_argument(
        "--methods",
        type=functools.partial(parse_list, allowed=METHODS),
        default=list(METHODS),
        help=f"vidquant methods, comma-separated (default all: {','.join(METHODS)})",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    ks = args.k or ([16] if args.quick else list(DEFAULT_K))
    started = time.perf_counter()
    machine = bench_codec.machine()
    machine["versions"] = {
        "pillow": package_version("pillow"),
        "scikit-learn": package_version("scikit-learn"),
        "scikit-image": package_version("scikit-image"),
        "imagequant": package_version("imagequant"),
        "pngquant": tool_version(["pngquant", "--version"]),
        "ffmpeg": tool_version(["ffmpeg", "-version"]),
    }
    if args.photo:
        names = [p.name for p in args.photo]  # the path where two files share a name
        photos = [
            Photo(p.name if names.count(p.name) == 1 else str(p), str(p), read_picture(p).rgb)
            for p in args.photo
        ]
    else:
        photos = default_photos()
    if args.quick:
        photos = photos[:1]
    found = quantisers(args.methods)
    print(
        f"{len(photos)} photos, k = {', '.join(map(str, ks))}, {len(found)} quantisers; "
        f"{machine['cpus']} CPUs, load {machine['loadavg_1m']}"
    )
    WORK.mkdir(parents=True, exist_ok=True)
    warm_up(found, photos[0])
    sources = {}
    for photo in photos:
        sources[photo.name] = WORK / f"{slug(photo.name)}.png"
        sources[photo.name].write_bytes(rgb_png(photo.rgb))

    runs: list[dict[str, Any]] = []
    for k in ks:
        for photo in photos:
            t0 = time.perf_counter()
            for quantiser in found:
                row = measure(photo, k, quantiser, sources[photo.name], repeat=args.repeat)
                if row is not None:
                    runs.append(row)
            print(f"  k={k:<3} {photo.name:<24} {time.perf_counter() - t0:6.1f} s")

    names = [q.name for q in found]
    report: dict[str, Any] = {
        "machine": machine,
        "k": ks,
        "methods": args.methods,
        "repeat": args.repeat,
        "photos": [
            {
                "name": p.name,
                "source": p.source,
                "width": p.rgb.shape[1],
                "height": p.rgb.shape[0],
                "colours": count_colours(p.rgb),
            }
            for p in photos
        ],
        "summary": {},
        "verdicts": {},
        "runs": runs,
    }
    for k in ks:
        at_k = [r for r in runs if r["k"] == k]
        summary = summarise(at_k, names)
        report["summary"][str(k)] = summary
        report["verdicts"][str(k)] = verdict(k, at_k)
        print(f"\nk = {k}: means over the photos (PNG kB: total)")
        print(text_table(summary))
        print(report["verdicts"][str(k)])
    drift = [
        r
        for r in runs
        if "psnr_reported_db" in r and abs(r["psnr_reported_db"] - r["psnr_db"]) > 0.01
    ]
    for r in runs:
        where = f"{r['quantiser']} on {r['photo']}, k={r['k']}"
        if r["transparent_pixels"]:
            print(f"note: {where}: {r['transparent_pixels']} transparent pixels")
        if not r["same_output"]:
            print(f"note: {where}: the repeated runs wrote different files (the first is used)")
    for r in drift:  # the PNG should hold exactly the pixels vidquant measured
        print(
            f"note: {r['quantiser']} on {r['photo']}, k={r['k']}: PSNR {r['psnr_reported_db']:.2f}"
            f" dB reported, {r['psnr_db']:.2f} dB from its PNG"
        )
    report["run_s"] = time.perf_counter() - started
    report["loadavg_end_1m"] = round(os.getloadavg()[0], 2)
    (OUT / "image_results.md").write_text(markdown(report, found))
    (OUT / "image_results.json").write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"\n{report['run_s']:.0f} s, load {report['loadavg_end_1m']} at the end; wrote "
        f"{OUT / 'image_results.md'} and image_results.json; PNGs in {WORK}"
    )


if __name__ == "__main__":
    main()
