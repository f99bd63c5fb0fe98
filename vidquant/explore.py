"""The interactive explorer: a local web page to try k (and the palette method) on a picture.

:class:`Explorer` serves one source, a still image or a video, on 127.0.0.1 only, with the
standard library's HTTP server. The page (``explore.html``, ``.js``, ``.css`` in this package)
shows the original and the quantised picture side by side with their figures and asks the
JSON API below for each new setting. Only generated content is served: the page's three fixed
files and pictures computed from the one source named at start, never a file by path.

Endpoints (GET; every query parameter is checked, a bad one gives 400 and a JSON error):

``/``, ``/explore.js``, ``/explore.css``
    The page.
``/api/source``
    What is explored: kind (image or video), name, sizes, frames, rate, the k range, methods.
``/api/quantize?k=K&t=SECONDS&method=M``
    Figures of the frame shown at ``t`` (0 for a still; optional) quantised to ``k`` colours
    with ``method`` (optional: the explorer's default), and the URLs of both pictures.
``/img/original?t=SECONDS``, ``/img/quantized?k=K&t=SECONDS&method=M``
    The pictures as PNG (the quantised one is the indexed PNG whose size the figures give).

Results are kept in bounded least-recently-used caches (decoded frames by frame, results by
frame, k and method), and a result is computed once even when several requests ask for it at
the same time. After each result the neighbouring k values are computed in the background, so
that stepping the slider by one shows a ready answer.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from .errors import InputError, OutputError, SettingsError
from .explore_http import HOST, K_MAX, K_MIN, Handler, Server, load_assets
from .io.image import read_picture, rgb_png
from .metrics import unique_colours
from .still import check_k, check_method, quantize_image

__all__ = ["HOST", "ExploreStats", "Explorer", "Result", "SourceInfo"]

log = logging.getLogger(__name__)

# Pictures larger than this on their long side are explored on a scaled preview: a 24-megapixel
# photo takes seconds per k, and the page cannot show more pixels than a screen has anyway.
PREVIEW_PX = 1280
_FRAME_CACHE = 8  # decoded frames (a 1280x720 frame is 2.8 MB)
_ORIGINAL_CACHE = 16  # true-colour PNGs of the original frames
# A frame time within this fraction of a frame of the next frame's start is that frame: the
# page sends index / fps, which a decimal rendering may put a hair below the frame's start.
_SNAP_FRAMES = 1e-3

V = TypeVar("V")


@dataclass(frozen=True)
class SourceInfo:
    """What the explorer shows.

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
class _Frame:
    rgb: np.ndarray  # (height, width, 3) uint8, the preview size
    colours: int  # distinct colours in rgb


@dataclass(frozen=True, eq=False)
class Result:
    """One frame quantised by one method, as the page shows it.

    Attributes
    ----------
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
    """

    frames_read: int
    quantize_runs: int
    result_hits: int
    prefetched: int


class _Lru:
    """A bounded least-recently-used cache that computes each missing value once, even when
    several threads ask for it together: the first computes, the others wait for its value."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def get(self, key: Hashable, compute: Callable[[], V]) -> tuple[V, bool]:
        """The value for ``key`` and whether it was cached; ``compute`` makes a missing one."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key], True
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:  # computed by the thread this one waited for
                    self._items.move_to_end(key)
                    return self._items[key], True
            try:
                value = compute()
                self.put(key, value)  # before the key's lock goes: a newcomer finds the value
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            return value, False


def _scaled(rgb: np.ndarray, long_side_px: int) -> np.ndarray:
    h, w, _ = rgb.shape
    scale = long_side_px / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _check_port(port: int) -> None:
    if not 0 <= port <= 65535:
        raise SettingsError(f"--port must be 0..65535 (0: any free port), got {port}")


class Explorer:
    """The explorer's web server for one picture or video, on 127.0.0.1.

    Parameters
    ----------
    path
        A still image or a video (anything :func:`vidquant.io.image.read_picture` reads).
    port
        TCP port on 127.0.0.1; 0 lets the system choose a free one (see :attr:`url`).
    k, method
        The settings the page starts with.
    seed
        Palette seed: the same settings give the same picture.
    prefetch
        Compute the neighbouring k values in the background after each result.
    cache_results
        How many results (figures and indexed PNG) to keep.
    preview_px
        Longest side of the pictures quantised; larger sources are scaled down to it.

    Raises
    ------
    SettingsError
        ``k``, ``method`` or ``port`` out of range.
    InputError
        ``path`` cannot be read as a picture or video (checked before anything is served).

    Examples
    --------
    >>> with Explorer("photo.jpg") as explorer:  # doctest: +SKIP
    ...     print(explorer.url)
    ...     explorer.wait()  # until Ctrl-C
    """

    def __init__(
        self,
        path: str | Path,
        *,
        port: int = 0,
        k: int = 16,
        method: str = "minibatch",
        seed: int = 0,
        prefetch: bool = True,
        cache_results: int = 64,
        preview_px: int = PREVIEW_PX,
    ) -> None:
        check_k(k)
        check_method(method)
        _check_port(port)
        self.k, self.method, self.seed, self.port = k, method, seed, port
        self._preview_px = preview_px
        self._frames = _Lru(_FRAME_CACHE)
        self._originals = _Lru(_ORIGINAL_CACHE)
        self._results = _Lru(cache_results)
        self.source = self._open(Path(path))
        # One per explorer: an image URL's content is fixed for one explorer, not across the
        # explorers that later runs may serve on the same port.
        self.etag = f'"{secrets.token_hex(8)}"'
        self._assets = load_assets()
        self._counts = {name: 0 for name in ExploreStats.__dataclass_fields__}
        self._count_lock = threading.Lock()
        self._prefetch = prefetch
        self._prefetch_wanted: list[tuple[int, int, str]] = []
        self._prefetch_cv = threading.Condition()
        self._server: Server | None = None
        self._stopped = threading.Event()

    # -- the source ------------------------------------------------------------------------

    def _open(self, path: Path) -> SourceInfo:
        first = read_picture(path)
        rgb = _scaled(first.rgb, self._preview_px)
        self._frames.put(0, _Frame(rgb, unique_colours(rgb)))
        src_h, src_w, _ = first.rgb.shape
        h, w, _ = rgb.shape
        fps = frames = duration = None
        if first.time_s is not None:
            from .io.reader import VideoReader  # PyAV only for a video

            with VideoReader(path) as reader:
                info = reader.info
            fps = float(info.fps)
            duration = info.duration_s
            frames = info.frames or (round(duration * fps) if duration else 0)
            if duration is None:
                duration = frames / fps if frames else None
            if not frames:
                log.warning("%s: the container gives no length: only the first frame", path)
        return SourceInfo(
            kind="image" if fps is None else "video",
            path=path,
            file_bytes=path.stat().st_size,
            width=w,
            height=h,
            source_width=src_w,
            source_height=src_h,
            fps=fps,
            frames=max(1, frames or 1),
            duration_s=duration,
        )

    def _count(self, name: str) -> None:
        with self._count_lock:
            self._counts[name] += 1

    @property
    def stats(self) -> ExploreStats:
        """What was computed and what came from the caches so far."""
        with self._count_lock:
            return ExploreStats(**self._counts)

    def _frame(self, index: int) -> _Frame:
        def read() -> _Frame:
            # The middle of the frame's interval on the nominal grid: its start, rounded, could
            # fall a hair before it and give the frame before.
            fps = self.source.fps
            picture = read_picture(self.source.path, time_s=(index + 0.5) / fps if fps else 0.0)
            rgb = _scaled(picture.rgb, self._preview_px)
            self._count("frames_read")
            return _Frame(rgb, unique_colours(rgb))

        return self._frames.get(index, read)[0]

    def original_png(self, index: int) -> bytes:
        """Frame ``index`` (0 for a still) as a true-colour PNG, at the preview size.

        Raises
        ------
        InputError
            The frame cannot be read.
        """
        return self._originals.get(index, lambda: rgb_png(self._frame(index).rgb))[0]

    def result(self, index: int, k: int, method: str) -> tuple[Result, bool]:
        """Frame ``index`` quantised to ``k`` colours by ``method``, and whether it was cached.

        Raises
        ------
        SettingsError
            ``k`` or ``method`` out of range.
        InputError
            The frame cannot be read.
        """
        check_k(k)
        check_method(method)
        result, cached = self._results.get(
            (index, k, method), lambda: self._compute(index, k, method)
        )
        if cached:
            self._count("result_hits")
        self._want_neighbours(index, k, method)
        return result, cached

    def _compute(self, index: int, k: int, method: str) -> Result:
        frame = self._frame(index)
        q = quantize_image(
            frame.rgb, k, method=method, seed=self.seed, colours_before=frame.colours
        )
        self._count("quantize_runs")
        return Result(
            index=index,
            time_s=self.source.time_of(index),
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

    def _want_neighbours(self, index: int, k: int, method: str) -> None:
        if not self._prefetch:
            return
        wanted = [(index, n, method) for n in (k + 1, k - 1) if K_MIN <= n <= K_MAX]
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
                _, cached = self._results.get(key, lambda key=key: self._compute(*key))
            except InputError as exc:  # the page will get the same error if it asks
                log.debug("prefetch of %s failed: %s", key, exc)
                continue
            if not cached:
                self._count("prefetched")

    # -- serving ---------------------------------------------------------------------------

    @property
    def server_address(self) -> tuple[str, int]:
        """The (host, port) served on; the port is known once started."""
        if self._server is None:
            raise RuntimeError("the explorer is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The page's address, ``http://127.0.0.1:PORT/``."""
        host, port = self.server_address
        return f"http://{host}:{port}/"

    def start(self) -> Explorer:
        """Bind to 127.0.0.1 and serve in background threads; returns ``self``.

        Raises
        ------
        OutputError
            The port is in use or may not be used: like an output file that exists, the place
            asked for is taken, and another ``port`` (or 0) is the fix.
        """
        if self._server is not None:
            raise RuntimeError("the explorer is already started")
        try:
            self._server = Server((HOST, self.port), Handler, self)
        except OSError as exc:
            raise OutputError(
                f"cannot serve on {HOST}:{self.port}: {exc.strerror or exc}; "
                "choose another --port, or --port 0 for a free one"
            ) from exc
        self._stopped.clear()
        targets = [self._server.serve_forever]
        if self._prefetch:
            targets.append(self._prefetch_loop)
        for target in targets:
            threading.Thread(target=target, name=f"explore-{target.__name__}", daemon=True).start()
        log.info("serving %s on %s", self.source.path, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free afterwards). Idempotent."""
        server, self._server = self._server, None
        self._stopped.set()
        with self._prefetch_cv:
            self._prefetch_cv.notify_all()
        if server is not None:
            server.shutdown()  # waits for serve_forever to return
            server.server_close()
        # A prefetch in progress ends on its own (a daemon thread): not worth waiting for.

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread (or Ctrl-C interrupts)."""
        while not self._stopped.wait(0.5):
            pass

    def __enter__(self) -> Explorer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
