"""The :class:`Explorer`: the sources, the caches and the computing, served by a LocalService.

The explorer reads and quantises (through one :class:`~.cache.Gate`, into :class:`~.cache.Lru`
caches) and prefetches the neighbouring k values in the background; what it serves and how is
:mod:`.http`'s, which asks it through the :class:`~.api.Backend` protocol. See the package's
docstring for the page and its endpoints.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from vidquant.apps.explore.cache import Gate, Lru, Skipped
from vidquant.apps.explore.http import LocalService, load_assets
from vidquant.apps.explore.sources import PREVIEW_PX, describe_source, find_sources, scaled
from vidquant.apps.explore.types import Busy, ExploreStats, Result, SourceFile, SourceInfo
from vidquant.apps.still import check_method, quantize_image
from vidquant.errors import InputError, SettingsError
from vidquant.io.image import read_picture, rgb_png
from vidquant.settings import K_MAX, K_MIN, check_k

__all__ = ["Explorer"]

log = logging.getLogger(__name__)

_FRAME_CACHE = 8  # decoded frames (a 1280x720 frame is 2.8 MB)
_ORIGINAL_CACHE = 16  # true-colour PNGs of the original frames

V = TypeVar("V")


class Explorer:
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
        self._service = LocalService(port, self)
        self.k, self.method, self.seed = k, method, seed
        self._preview_px = preview_px
        named = [Path(sources)] if isinstance(sources, str | Path) else [Path(p) for p in sources]
        if not named:
            raise SettingsError("no sources given: name pictures, videos or folders")
        files, self.skipped = find_sources(named)
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
        self.assets = load_assets()
        """The page's fixed files by URL path: (content, content type)."""
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
        rgb = scaled(first.rgb, self._preview_px)
        self._frames.put((source, 0), rgb)
        return describe_source(path, first, rgb)

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
            rgb = scaled(read_picture(info.path, time_s=time_s).rgb, self._preview_px)
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
                while not self._prefetch_wanted and not self._service.stopped:
                    self._prefetch_cv.wait()
                if self._service.stopped:
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

    # -- serving: LocalService's, and the prefetch thread beside it ------------------------

    @property
    def server_address(self) -> tuple[str, int]:
        """The (host, port) served on; the port is known once started."""
        return self._service.server_address

    @property
    def url(self) -> str:
        """The page's address, ``http://127.0.0.1:PORT/``."""
        return self._service.url

    def start(self) -> Explorer:
        """Bind to 127.0.0.1 and serve in background threads; returns ``self``.

        Raises
        ------
        OutputError
            The port is in use or may not be used (see :meth:`LocalService.start`).
        """
        self._service.start()
        if self._prefetch:
            threading.Thread(
                target=self._prefetch_loop, name="explore-prefetch", daemon=True
            ).start()
        what = self.files[0].path if len(self.files) == 1 else f"{len(self.files)} sources"
        log.info("serving %s on %s", what, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free afterwards). Idempotent."""
        self._service.stop()
        with self._prefetch_cv:
            self._prefetch_cv.notify_all()
        # A prefetch in progress ends on its own (a daemon thread): not worth waiting for.

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread (or Ctrl-C interrupts)."""
        self._service.wait()

    def __enter__(self) -> Explorer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
