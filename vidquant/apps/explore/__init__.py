"""The interactive explorer: a local web page to try k (and the palette method) on pictures.

:class:`Explorer` serves one or more sources, still images and videos (files, or the pictures
and videos of a folder), on 127.0.0.1 only, with the standard library's HTTP server. The page
(``explore.html``, ``.js``, ``.css`` in this package) has a source picker, shows the original
and the quantised picture side by side with their figures and asks the JSON API below for each
new setting. Only generated content is served: the page's three fixed files and pictures
computed from the sources named at start, never a file by path.

Endpoints (GET; every query parameter is checked, a bad one gives 400 and a JSON error; ``s``
is a source's index in :attr:`Explorer.files`, 0 when not given):

``/``, ``/explore.js``, ``/explore.css``
    The page.
``/api/sources``
    The sources (name, file size, and what is known once opened), the k range, the methods.
``/api/source?s=S``
    Source ``s``, opened if it was not yet: kind (image or video), name, sizes, frames, rate,
    the k range, methods. A source that cannot be read gives 404 and its error.
``/api/quantize?s=S&k=K&t=SECONDS&method=M``
    Figures of the frame shown at ``t`` (0 for a still; optional) quantised to ``k`` colours
    with ``method`` (optional: the explorer's default), and the URLs of both pictures.
``/img/original?s=S&t=SECONDS``, ``/img/quantized?s=S&k=K&t=SECONDS&method=M``
    The pictures as PNG (the quantised one is the indexed PNG whose size the figures give).

Sources are opened lazily, when first asked for (a folder of 200 photos starts at once), and
kept open: a small record each. Results are kept in bounded least-recently-used caches shared
by all sources (decoded frames by source and frame, results by source, frame, k and method),
and a result is computed once even when several requests ask for it at the same time. All
the reading and quantising goes through one gate: at most ``slots`` computations at a time,
and at most ``queue`` requests waiting for one; a request beyond those is turned away (503,
"busy") rather than queued, so a flood of distinct settings cannot take the computer's memory
and cores. After each result the neighbouring k values are computed in the background, so that
stepping the slider by one shows a ready answer, but only in a slot nobody waits for.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from vidquant.apps.explore.cache import Gate, Lru, Skipped
from vidquant.apps.explore.http import HOST, K_MAX, K_MIN, Busy, LocalService, load_assets
from vidquant.apps.still import check_method, quantize_image
from vidquant.errors import InputError, SettingsError
from vidquant.io.image import read_picture, rgb_png
from vidquant.io.probe import check_input_file, probe_stream_bytes
from vidquant.settings import check_k

__all__ = ["HOST", "Busy", "ExploreStats", "Explorer", "Result", "SourceFile", "SourceInfo"]

log = logging.getLogger(__name__)

# Pictures larger than this on their long side are explored on a scaled preview: a 24-megapixel
# photo takes seconds per k, and the page cannot show more pixels than a screen has anyway.
PREVIEW_PX = 1280
_FRAME_CACHE = 8  # decoded frames (a 1280x720 frame is 2.8 MB)
_ORIGINAL_CACHE = 16  # true-colour PNGs of the original frames
# A frame time within this fraction of a frame of the next frame's start is that frame: the
# page sends index / fps, which a decimal rendering may put a hair below the frame's start.
_SNAP_FRAMES = 1e-3
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

V = TypeVar("V")


@dataclass(frozen=True)
class SourceFile:
    """A source named at start (a file, or a folder's picture or video), not yet read.

    Attributes
    ----------
    path
        The file.
    file_bytes
        Its size when the explorer started.
    """

    path: Path
    file_bytes: int


@dataclass(frozen=True)
class SourceInfo:
    """What the explorer shows of one source, once opened.

    Attributes
    ----------
    kind
        ``"image"`` for a still picture, ``"video"`` for a video (any frame can be picked).
    path
        The source file.
    file_bytes
        Size of the source file.
    width, height
        Size of the pictures quantised, pixels: the source's, or its preview's when larger
        than :data:`PREVIEW_PX` on the long side.
    source_width, source_height
        Size of the source pictures, pixels.
    fps
        Nominal frame rate of a video (frames are picked on this grid); None for a still.
    frames
        Number of frames that can be picked (1 for a still).
    duration_s
        Length of a video, seconds; None for a still.
    video_bytes
        Payload bytes of a video's video stream (no audio, no container), or None for a still
        or when the packets could not be counted.
    """

    kind: str
    path: Path
    file_bytes: int
    width: int
    height: int
    source_width: int
    source_height: int
    fps: float | None
    frames: int
    duration_s: float | None
    video_bytes: int | None = None

    @property
    def preview(self) -> bool:
        """True when the figures are for a scaled preview, not the full-size picture."""
        return (self.width, self.height) != (self.source_width, self.source_height)

    def time_of(self, index: int) -> float:
        """Start of frame ``index`` (0-based), seconds; 0 for a still."""
        return index / self.fps if self.fps else 0.0

    def index_at(self, time_s: float) -> int:
        """The frame shown at ``time_s`` seconds (the last frame from its start on)."""
        if not self.fps:
            return 0
        return min(self.frames - 1, math.floor(time_s * self.fps + _SNAP_FRAMES))


@dataclass(frozen=True, eq=False)
class Result:
    """One frame quantised by one method, as the page shows it.

    Attributes
    ----------
    source
        The source's index in :attr:`Explorer.files` (0-based).
    index, time_s
        The frame (0-based) and its start, seconds (0 for a still).
    k, method
        The palette size asked for and the palette method.
    psnr_db
        PSNR against the original (preview-size) picture, dB; inf when identical.
    colours_before, colours_after
        Distinct colours in the original and in the quantised picture.
    png
        The quantised picture as an optimised indexed PNG file.
    fit_s, assign_s
        Seconds spent finding the palette and labelling the pixels.
    """

    source: int
    index: int
    time_s: float
    k: int
    method: str
    psnr_db: float
    colours_before: int
    colours_after: int
    png: bytes
    fit_s: float
    assign_s: float


@dataclass(frozen=True)
class ExploreStats:
    """Counts of the work an :class:`Explorer` did (a snapshot).

    Attributes
    ----------
    frames_read
        Frames read from the source (cache misses).
    quantize_runs
        Pictures quantised (cache misses), prefetches included.
    result_hits
        Requests answered from the result cache.
    prefetched
        Results computed in the background for neighbouring k values.
    refused
        Requests turned away because too many were already waiting for a computing slot.
    prefetch_skipped
        Background computations left out because no slot was free for them.
    """

    frames_read: int
    quantize_runs: int
    result_hits: int
    prefetched: int
    refused: int
    prefetch_skipped: int


def _scaled(rgb: np.ndarray, long_side_px: int) -> np.ndarray:
    h, w, _ = rgb.shape
    scale = long_side_px / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _find_sources(named: Sequence[Path]) -> tuple[list[SourceFile], int]:
    """The files to explore, in order, and how many of the folders' files were skipped."""
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


class Explorer(LocalService):
    """The explorer's web server for pictures and videos, on 127.0.0.1.

    Parameters
    ----------
    sources
        Still images and videos (anything :func:`vidquant.io.image.read_picture` reads), and
        folders, which give their pictures and videos (by suffix, sorted by name, not
        recursive), in this order. One path or a sequence of them.
    port
        TCP port on 127.0.0.1; 0 lets the system choose a free one (see :attr:`url`).
    k, method
        The settings the page starts with.
    seed
        Palette seed: the same settings give the same picture.
    prefetch
        Compute the neighbouring k values in the background after each result.
    cache_results
        How many results (figures and indexed PNG) to keep, over all sources.
    preview_px
        Longest side of the pictures quantised; larger sources are scaled down to it.
    slots
        How many computations (frame reads, quantisations) may run at a time.
    queue
        How many requests may wait for a computing slot; one more is answered 503 (busy).

    Raises
    ------
    SettingsError
        ``k``, ``method`` or ``port`` out of range, or no sources at all.
    InputError
        A named file is missing, empty or not a regular file, a folder cannot be listed, or
        there is nothing to explore. A single source is also read at once, so a file that is
        not a picture stops here; of several, each is read when first asked for, and one
        that cannot be read gives its error to the page (see :meth:`info`).

    Examples
    --------
    >>> with Explorer(["photo.jpg", "holiday/"]) as explorer:  # doctest: +SKIP
    ...     print(explorer.url)
    ...     explorer.wait()  # until Ctrl-C
    """

    def __init__(
        self,
        sources: str | Path | Sequence[str | Path],
        *,
        port: int = 0,
        k: int = 16,
        method: str = "minibatch",
        seed: int = 0,
        prefetch: bool = True,
        cache_results: int = 64,
        preview_px: int = PREVIEW_PX,
        slots: int = 2,
        queue: int = 8,
    ) -> None:
        check_k(k)
        check_method(method)
        super().__init__(port)
        self.k, self.method, self.seed = k, method, seed
        self._preview_px = preview_px
        named = [Path(sources)] if isinstance(sources, str | Path) else [Path(p) for p in sources]
        if not named:
            raise SettingsError("no sources given: name pictures, videos or folders")
        files, self.skipped = _find_sources(named)
        self.files: tuple[SourceFile, ...] = tuple(files)
        """The sources, in the order the page lists them."""
        self._infos = Lru(len(self.files))  # SourceInfo, or why it cannot be read: all kept
        self._frames = Lru(_FRAME_CACHE)
        self._originals = Lru(_ORIGINAL_CACHE)
        self._results = Lru(cache_results)
        self._gate = Gate(slots, queue)
        self._counts = {name: 0 for name in ExploreStats.__dataclass_fields__}
        self._count_lock = threading.Lock()
        if len(self.files) == 1:
            self.info(0)  # as `vidquant image` does: a file that is no picture stops here
        # One per explorer: an image URL's content is fixed for one explorer, not across the
        # explorers that later runs may serve on the same port.
        self.etag = f'"{secrets.token_hex(8)}"'
        self._assets = load_assets()
        self._prefetch = prefetch
        self._prefetch_failed = False  # said once at WARNING, then at DEBUG
        self._prefetch_wanted: list[tuple[int, int, int, str]] = []
        self._prefetch_cv = threading.Condition()

    # -- the sources -----------------------------------------------------------------------

    def info(self, source: int) -> SourceInfo:
        """Source ``source`` (an index in :attr:`files`), read now if it was not yet.

        Raises
        ------
        InputError
            The source cannot be read (the same message each time: it is read only once).
        Busy
            Too many requests already wait for a computing slot.
        """

        def open_source() -> SourceInfo | str:
            try:
                return self._open(source)
            except InputError as exc:
                if len(self.files) == 1:
                    raise  # at start: the command's error, with its cause
                log.warning("%s", exc)
                return str(exc)  # kept: a broken file is not decoded again at each request

        info = self._infos.get(source, lambda: self._gated(open_source))[0]
        if isinstance(info, str):
            raise InputError(info)
        return info

    def known(self, source: int) -> SourceInfo | InputError | None:
        """What is known of source ``source`` without reading it: its :class:`SourceInfo`, the
        error reading it gave, or None when it was not read yet."""
        info = self._infos.peek(source)
        return InputError(info) if isinstance(info, str) else info

    def _open(self, source: int) -> SourceInfo:
        path = self.files[source].path
        first = read_picture(path)
        rgb = _scaled(first.rgb, self._preview_px)
        self._frames.put((source, 0), rgb)
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

    def _gated(self, compute: Callable[[], V]) -> V:
        try:
            return self._gate.run(compute)
        except Busy:
            self._count("refused")
            raise

    def _count(self, name: str) -> None:
        with self._count_lock:
            self._counts[name] += 1

    @property
    def stats(self) -> ExploreStats:
        """What was computed and what came from the caches so far."""
        with self._count_lock:
            return ExploreStats(**self._counts)

    def _frame(self, source: int, index: int) -> np.ndarray:
        """The frame's pixels at the preview size, (height, width, 3) uint8."""

        def read() -> np.ndarray:
            info = self.info(source)
            # The middle of the frame's interval on the nominal grid: its start, rounded, could
            # fall a hair before it and give the frame before.
            time_s = (index + 0.5) / info.fps if info.fps else 0.0
            rgb = _scaled(read_picture(info.path, time_s=time_s).rgb, self._preview_px)
            self._count("frames_read")
            return rgb

        return self._frames.get((source, index), lambda: self._gated(read))[0]

    def original_png(self, source: int, index: int) -> bytes:
        """Frame ``index`` (0 for a still) of source ``source`` as a true-colour PNG, at the
        preview size.

        Raises
        ------
        InputError
            The frame cannot be read.
        Busy
            Too many requests already wait for a computing slot.
        """
        key = (source, index)
        return self._originals.get(key, lambda: self._gated(lambda: rgb_png(self._frame(*key))))[0]

    def result(self, source: int, index: int, k: int, method: str) -> tuple[Result, bool]:
        """Frame ``index`` of source ``source`` quantised to ``k`` colours by ``method``, and
        whether it was cached.

        Raises
        ------
        SettingsError
            ``k`` or ``method`` out of range.
        InputError
            The frame cannot be read.
        Busy
            Too many requests already wait for a computing slot.
        """
        check_k(k)
        check_method(method)
        key = (source, index, k, method)
        result, cached = self._results.get(key, lambda: self._gated(lambda: self._compute(*key)))
        if cached:
            self._count("result_hits")
        self._want_neighbours(source, index, k, method)
        return result, cached

    def _compute(self, source: int, index: int, k: int, method: str) -> Result:
        q = quantize_image(self._frame(source, index), k, method=method, seed=self.seed)
        self._count("quantize_runs")
        return Result(
            source=source,
            index=index,
            time_s=self.info(source).time_of(index),
            k=k,
            method=method,
            psnr_db=q.psnr_db,
            colours_before=q.colours_before,
            colours_after=q.colours_after,
            png=q.png(),  # its size is a figure on the page, so the smallest file
            fit_s=q.fit_s,
            assign_s=q.assign_s,
        )

    # -- background work -------------------------------------------------------------------

    def _want_neighbours(self, source: int, index: int, k: int, method: str) -> None:
        if not self._prefetch:
            return
        wanted = [(source, index, n, method) for n in (k + 1, k - 1) if K_MIN <= n <= K_MAX]
        with self._prefetch_cv:
            # Only the latest request's neighbours: a dragged slider leaves nothing queued.
            self._prefetch_wanted = [key for key in wanted if key not in self._results]
            self._prefetch_cv.notify()

    def _prefetch_loop(self) -> None:
        while True:
            with self._prefetch_cv:
                while not self._prefetch_wanted and not self._stopped.is_set():
                    self._prefetch_cv.wait()
                if self._stopped.is_set():
                    return
                key = self._prefetch_wanted.pop(0)
            try:
                _, cached = self._results.get(key, lambda key=key: self._prefetch_one(key))
            except Skipped:
                self._count("prefetch_skipped")
                continue
            except InputError as exc:  # the page will get the same error if it asks
                log.debug("prefetch of %s failed: %s", key, exc)
                continue
            except Exception:  # noqa: BLE001
                # The background worker's last line of defence: a bug here must not end the
                # thread, which would silently stop every later prefetch.
                level = logging.DEBUG if self._prefetch_failed else logging.WARNING
                self._prefetch_failed = True
                log.log(level, "prefetch of %s failed", key, exc_info=True)
                continue
            if not cached:
                self._count("prefetched")

    def _prefetch_one(self, key: tuple[int, int, int, str]) -> Result:
        return self._gate.run(lambda: self._compute(*key), background=True)

    # -- serving: the rest is LocalService's ----------------------------------------------

    def start(self) -> Explorer:
        """Bind to 127.0.0.1 and serve in background threads; returns ``self``.

        Raises
        ------
        OutputError
            The port is in use or may not be used (see :meth:`LocalService.start`).
        """
        super().start()
        if self._prefetch:
            threading.Thread(
                target=self._prefetch_loop, name="explore-prefetch", daemon=True
            ).start()
        what = self.files[0].path if len(self.files) == 1 else f"{len(self.files)} sources"
        log.info("serving %s on %s", what, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free afterwards). Idempotent."""
        super().stop()
        with self._prefetch_cv:
            self._prefetch_cv.notify_all()
        # A prefetch in progress ends on its own (a daemon thread): not worth waiting for.
