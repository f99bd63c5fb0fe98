"""Still pictures in and out: photos to RGB arrays, labels and a palette to an indexed PNG.

Pillow does the work here because it knows what photos carry that a video decoder ignores:
the EXIF orientation of phone pictures, CMYK JPEGs, palette and 16-bit PNGs, embedded alpha.
A file Pillow cannot identify is tried as video (PyAV): its frame at the requested time.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vidquant.errors import InputError, SettingsError
from vidquant.fileutil import atomic_path
from vidquant.io.probe import check_input_file

log = logging.getLogger(__name__)

# Pillow's animated formats: those are read as video (every frame), the rest as one picture.
_ANIMATED = {"GIF", "WEBP", "PNG"}  # PNG: APNG


@dataclass(frozen=True, eq=False)
class Picture:
    """One RGB picture and where it came from.

    Attributes
    ----------
    rgb
        Pixels, shape (height, width, 3), uint8, C-contiguous.
    path
        The file it was read from.
    time_s
        For a frame of a video: the time asked for (the frame is the first one starting at
        or after it), seconds; None for a still.
    alpha_dropped
        True when the file had transparency, which is dropped (the stored colours show).
    codec, pix_fmt
        How the file stores it: Pillow's format and mode for a still (``"jpeg"``, ``"RGB"``),
        the video stream's codec and pixel format for a frame.
    """

    rgb: np.ndarray
    path: Path
    time_s: float | None = None
    alpha_dropped: bool = False
    codec: str | None = None
    pix_fmt: str | None = None


def read_picture(path: str | Path, *, time_s: float = 0.0) -> Picture:
    """Read a still image, or the frame of a video shown at ``time_s``.

    Parameters
    ----------
    path
        A photo (JPEG, PNG, WebP, TIFF, BMP, ... with its EXIF orientation applied) or any
        video PyAV opens; an animated image (GIF, WebP, APNG) gives its frame at ``time_s``.
    time_s
        For a video, the first frame that starts at or after this time (seconds from the
        video's first frame).

    Raises
    ------
    InputError
        The file is missing or unreadable; a picture over Pillow's decompression-bomb
        limit (89 megapixels); a video over the 7680x4320 limit or with no frame at
        ``time_s``.
    SettingsError
        ``time_s`` is negative or not finite.
    """
    path = Path(path)
    if not (math.isfinite(time_s) and time_s >= 0):
        raise SettingsError(f"--time must be a time >= 0 s, got {time_s:g}", setting="time")
    check_input_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
    except UnidentifiedImageError:
        return _video_frame(path, time_s)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise InputError(
            f"{path}: the picture is over the {Image.MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel "
            f"limit for pictures ({exc})"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    with image:
        if getattr(image, "n_frames", 1) > 1 and image.format in _ANIMATED:
            return _animated_frame(image, path, time_s)
        codec, pix_fmt = (image.format or "").lower() or None, image.mode
        try:
            image = ImageOps.exif_transpose(image)
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            rgb = np.asarray(_to_rgb(image), dtype=np.uint8)
        except (OSError, ValueError, SyntaxError) as exc:  # truncated or broken data
            raise InputError(f"cannot decode {path}: {exc}") from exc
    if alpha:
        log.warning(
            "%s: the alpha channel is dropped: transparent areas show the colours stored "
            "under them",
            path,
        )
    return Picture(np.ascontiguousarray(rgb), path, None, alpha, codec, pix_fmt)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: keep the top 8 bits
        grey = np.asarray(image, dtype=np.uint32) >> 8
        return Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).convert("RGB")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image.convert("RGB")


def _animated_frame(image: Image.Image, path: Path, time_s: float) -> Picture:
    """The frame of an animated picture shown at ``time_s``, by its frames' durations."""
    start_ms = 0.0
    for index in range(image.n_frames):
        image.seek(index)
        duration = float(image.info.get("duration") or 100)  # ms; browsers show 0 as 100
        if time_s * 1000 < start_ms + duration:
            try:
                rgb = np.asarray(_to_rgb(image), dtype=np.uint8)
            except (OSError, ValueError, SyntaxError) as exc:
                raise InputError(f"cannot decode {path}: {exc}") from exc
            codec = (image.format or "").lower() or None
            return Picture(np.ascontiguousarray(rgb), path, time_s, False, codec, image.mode)
        start_ms += duration
    raise InputError(
        f"{path}: no frame at or after {time_s:g} s (it is {start_ms / 1000:.2f} s long)"
    )


def _video_frame(path: Path, time_s: float) -> Picture:
    from vidquant.io.reader import VideoReader  # PyAV only when the file is not a still picture

    with VideoReader(path, start_s=time_s) as reader:
        for frame in reader:
            info = reader.info
            return Picture(
                frame.rgb,
                path,
                time_s,  # the reader's clock starts at the first frame it yields
                reader.alpha_dropped,
                info.codec,
                info.pix_fmt,
            )
        duration = reader.info.duration_s
    length = f" (it is {duration:.2f} s long)" if duration is not None else ""
    raise InputError(f"{path}: no frame at or after {time_s:g} s{length}")


def indexed_png(labels: np.ndarray, palette: np.ndarray, *, optimize: bool = True) -> bytes:
    """An indexed (palette-mode) PNG of ``labels`` ((h, w) uint8) and ``palette`` ((n, 3)).

    The bit depth follows the palette size (1, 2, 4 or 8 bits per pixel) and no row is
    filtered, as libpng advises for palette images: a filter predicts an index from its
    neighbours' index values, which mean nothing as numbers. (Pillow's writer picks adaptive
    filters at depths below 8: 10 % larger files on ten photos at k=16.) ``optimize`` spends
    more time in zlib for a smaller file.
    """
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    palette = np.ascontiguousarray(palette, dtype=np.uint8).reshape(-1, 3)
    h, w = labels.shape
    if not 1 <= len(palette) <= 256:
        raise ValueError(f"a PNG palette holds 1..256 colours, got {len(palette)}")
    depth = next(d for d in (1, 2, 4, 8) if len(palette) <= 1 << d)
    per_byte = 8 // depth
    padded = np.zeros((h, -(-w // per_byte) * per_byte), np.uint8)
    padded[:, :w] = labels
    groups = padded.reshape(h, -1, per_byte)
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)  # first pixel in the high bits
    packed = np.bitwise_or.reduce(groups << shifts, axis=2).astype(np.uint8)
    rows = np.hstack([np.zeros((h, 1), np.uint8), packed])  # filter byte 0 (none) per row
    ihdr = struct.pack(">IIBBBBB", w, h, depth, 3, 0, 0, 0)  # colour type 3: indexed
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", ihdr),
            _png_chunk(b"PLTE", palette.tobytes()),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 9 if optimize else 6)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def rgb_png(rgb: np.ndarray) -> bytes:
    """A true-colour PNG of ``rgb`` ((h, w, 3) uint8), fast rather than small."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(
        out, format="PNG", compress_level=1
    )
    return out.getvalue()


def write_bytes(dst: Path, data: bytes) -> None:
    """Write ``data`` to ``dst`` atomically (nothing under ``dst`` if it fails)."""
    with atomic_path(dst) as tmp:
        tmp.write_bytes(data)
