"""The explorer's sources: which files a command line names, and what one of them is.

:func:`find_sources` lists the files to explore (a folder by its files' suffixes, without
reading them, so a folder of 200 photos starts at once); :func:`describe_source` measures one
once its first picture is read; :func:`scaled` makes the preview a large picture is explored on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from vidquant.apps.explore.types import SourceFile, SourceInfo
from vidquant.errors import InputError
from vidquant.io.image import Picture
from vidquant.io.probe import check_input_file, probe_stream_bytes

__all__ = ["PICTURE_SUFFIXES", "PREVIEW_PX", "VIDEO_SUFFIXES", "describe_source", "find_sources"]

log = logging.getLogger(__name__)

# Pictures larger than this on their long side are explored on a scaled preview: a 24-megapixel
# photo takes seconds per k, and the page cannot show more pixels than a screen has anyway.
PREVIEW_PX = 1280
# What a folder's files are taken for, by suffix: reading each file to find out would make a
# large folder slow to start. A file named on the command line is taken whatever its suffix.
# fmt: off
PICTURE_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".gif", ".webp", ".avif", ".bmp", ".dib",
    ".tif", ".tiff", ".tga", ".qoi", ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k",
})
VIDEO_SUFFIXES = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".wmv", ".flv", ".ogv", ".3gp", ".y4m",
})
# fmt: on
_SOURCE_SUFFIXES = PICTURE_SUFFIXES | VIDEO_SUFFIXES


def scaled(rgb: np.ndarray, long_side_px: int) -> np.ndarray:
    """``rgb`` ((h, w, 3) uint8) scaled down to ``long_side_px`` on its long side; a picture
    no larger is returned as it is."""
    h, w, _ = rgb.shape
    scale = long_side_px / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def find_sources(named: Sequence[Path]) -> tuple[list[SourceFile], int]:
    """The files to explore, in order, and how many of the folders' files were skipped.

    Raises
    ------
    InputError
        A named file is missing, empty or not a regular file, a folder cannot be listed, or
        there is nothing to explore.
    """
    files: list[SourceFile] = []
    skipped = 0
    for path in named:
        if not path.is_dir():
            check_input_file(path)  # missing or empty: said before anything is served
            if not path.is_file():
                raise InputError(f"input is not a regular file: {path}")
            files.append(SourceFile(path, path.stat().st_size))
            continue
        try:
            # Not recursive: sub-folders (of earlier versions, of other sizes) are left alone.
            entries = sorted((p for p in path.iterdir() if p.is_file()), key=lambda p: p.name)
            in_folder = [
                SourceFile(p, p.stat().st_size)
                for p in entries
                if p.suffix.lower() in _SOURCE_SUFFIXES
            ]
        except OSError as exc:
            raise InputError(f"cannot list the folder {path}: {exc.strerror or exc}") from exc
        if len(in_folder) < len(entries):
            log.warning(
                "%s: skipped %d of %d files (neither a picture nor a video, by the name's suffix)",
                path,
                len(entries) - len(in_folder),
                len(entries),
            )
        skipped += len(entries) - len(in_folder)
        files += in_folder
    if not files:
        others = f" ({skipped} other file{'s' * (skipped != 1)} skipped)" if skipped else ""
        where = ", ".join(str(p) for p in named)
        raise InputError(f"no pictures or videos to explore in {where}{others}")
    return files, skipped


def describe_source(path: Path, first: Picture, rgb: np.ndarray) -> SourceInfo:
    """What the explorer shows of ``path``, whose first picture is ``first`` and its preview
    ``rgb``: a video's rate and length are read from its container.

    Raises
    ------
    InputError
        The video's container cannot be read, or the file went away.
    """
    src_h, src_w, _ = first.rgb.shape
    h, w, _ = rgb.shape
    fps = frames = duration = video_bytes = None
    if first.time_s is not None:
        from vidquant.io.reader import VideoReader  # PyAV only for a video

        with VideoReader(path) as reader:
            info = reader.info
        fps = float(info.fps)
        duration = info.duration_s
        frames = info.frames or (round(duration * fps) if duration else 0)
        if duration is None:
            duration = frames / fps if frames else None
        if not frames:
            log.warning("%s: the container gives no length: only the first frame", path)
        try:
            # The video stream's own bytes: the file's size holds audio and container too.
            video_bytes = probe_stream_bytes(path).video_bytes
        except InputError as exc:  # the frames read: only that figure is lost
            log.warning("%s: cannot count the video stream's bytes: %s", path, exc)
    try:
        file_bytes = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return SourceInfo(
        kind="image" if fps is None else "video",
        path=path,
        file_bytes=file_bytes,
        width=w,
        height=h,
        source_width=src_w,
        source_height=src_h,
        fps=fps,
        frames=max(1, frames or 1),
        duration_s=duration,
        video_bytes=video_bytes,
    )
