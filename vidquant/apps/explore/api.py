"""The explorer's JSON API without the sockets: query checks, and the answers as JSON objects.

Every query parameter is checked here (a bad one raises :class:`Refused`, which the handler in
:mod:`.http` sends as a status and a one-line JSON error, never a traceback), and the figures
the page shows are computed from the typed values of :mod:`.types`. What the API asks of the
explorer is the small :class:`Backend` protocol, so this module knows nothing of how results
are computed or cached.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Protocol
from urllib.parse import parse_qsl, urlencode

from vidquant.apps.explore.types import Result, SourceFile, SourceInfo
from vidquant.apps.still import METHODS
from vidquant.errors import InputError, SettingsError
from vidquant.settings import K_MAX, K_MIN, check_k

__all__ = [
    "Backend",
    "Refused",
    "parse_query",
    "query_frame",
    "query_settings",
    "query_source",
    "result_json",
    "source_json",
    "sources_json",
]


class Backend(Protocol):
    """What the page's requests ask of the explorer
    (:class:`~vidquant.apps.explore.Explorer` is one)."""

    @property
    def files(self) -> Sequence[SourceFile]:
        """The sources, in the order the page lists them."""

    @property
    def skipped(self) -> int:
        """Files of the folders named that are neither pictures nor videos."""

    @property
    def k(self) -> int:
        """The palette size the page starts with."""

    @property
    def method(self) -> str:
        """The palette method the page starts with, and the default of a request."""

    @property
    def etag(self) -> str:
        """The ETag of every picture served: fixed for one explorer."""

    @property
    def assets(self) -> Mapping[str, tuple[bytes, str]]:
        """The page's fixed files by URL path: (content, content type)."""

    def info(self, source: int) -> SourceInfo:
        """Source ``source``, read now if it was not yet."""

    def known(self, source: int) -> SourceInfo | InputError | None:
        """What is known of source ``source`` without reading it."""

    def result(self, source: int, index: int, k: int, method: str) -> tuple[Result, bool]:
        """Frame ``index`` of source ``source`` quantised, and whether it was cached."""

    def original_png(self, source: int, index: int) -> bytes:
        """Frame ``index`` of source ``source`` as a true-colour PNG."""


class Refused(Exception):
    """A request the server turns down: its status and the message sent back as JSON."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


# -- answers -----------------------------------------------------------------------------------


def _info_json(info: SourceInfo) -> dict[str, object]:
    fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(info) if f.name != "path"}
    return {**fields, "name": info.path.name, "preview": info.preview}


def _settings_json(backend: Backend) -> dict[str, object]:
    return {
        "k_min": K_MIN,
        "k_max": K_MAX,
        "k": backend.k,
        "method": backend.method,
        "methods": list(METHODS),
    }


def source_json(backend: Backend, s: int) -> dict[str, object]:
    """``/api/source``: source ``s`` (read now if it was not yet) and the page's settings."""
    info = _info_json(backend.info(s))
    return {**info, "index": s, "count": len(backend.files), **_settings_json(backend)}


def sources_json(backend: Backend) -> dict[str, object]:
    """Every source, with what is known without reading any: a source not yet opened has
    null ``kind``, sizes and length; one that could not be read has its ``error``."""
    sources = []
    for s, file in enumerate(backend.files):
        known = backend.known(s)
        entry: dict[str, object] = {
            "index": s,
            "name": file.path.name,
            "file_bytes": file.file_bytes,
            "error": str(known) if isinstance(known, InputError) else None,
        }
        info = None if known is None or isinstance(known, InputError) else known
        for name in ("kind", "width", "height", "fps", "frames", "duration_s"):
            entry[name] = getattr(info, name) if info is not None else None
        sources.append(entry)
    return {"sources": sources, "skipped": backend.skipped, **_settings_json(backend)}


def result_json(s: SourceInfo, r: Result, cached: bool) -> dict[str, object]:
    """``/api/quantize``: the figures of ``r``, a frame of source ``s``, and its pictures' URLs."""
    raw_bytes = s.width * s.height * 3
    # A still's own file against the PNG; a video's file holds every frame and its audio: its
    # video stream's mean per frame is the fair figure (though inter-coded frames are far
    # smaller than the mean). None for a preview, whose PNG is of far fewer pixels than the
    # source, and for a video whose stream could not be measured.
    source_bytes: float | None = None
    if not s.preview:
        source_bytes = s.file_bytes if s.kind == "image" else s.video_bytes
    if source_bytes is not None:
        source_bytes /= s.frames
    t = f"{r.time_s:.6f}"
    return {
        "source": r.source,
        "k": r.k,
        "method": r.method,
        "frame": r.index,
        "time_s": r.time_s,
        "width": s.width,
        "height": s.height,
        "psnr_db": r.psnr_db if math.isfinite(r.psnr_db) else None,  # JSON has no infinity
        "colours_before": r.colours_before,
        "colours_after": r.colours_after,
        "png_bytes": len(r.png),
        "raw_bytes": raw_bytes,
        "source_bytes": None if source_bytes is None else round(source_bytes),
        "ratio_raw": raw_bytes / len(r.png),
        "ratio_source": None if source_bytes is None else source_bytes / len(r.png),
        "fit_ms": r.fit_s * 1000,
        "assign_ms": r.assign_s * 1000,
        "cached": cached,
        "original_url": "/img/original?" + urlencode({"s": r.source, "t": t}),
        "quantized_url": "/img/quantized?"
        + urlencode({"s": r.source, "k": r.k, "t": t, "method": r.method}),
    }


# -- queries -----------------------------------------------------------------------------------


def parse_query(text: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query's parameters, each at most once and each one of ``allowed``."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True) if text else []
    except ValueError as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, f"malformed query: {exc}") from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            expected = ", ".join(allowed) or "none"
            raise Refused(
                HTTPStatus.BAD_REQUEST, f"unknown parameter {name!r} (expected: {expected})"
            )
        if name in query:
            raise Refused(HTTPStatus.BAD_REQUEST, f"parameter {name!r} given twice")
        query[name] = value
    return query


def query_settings(text: str, backend: Backend) -> tuple[int, int, int, str]:
    """Source, frame index, k and method from a query's ``s``, ``t``, ``k`` and ``method``.

    Raises
    ------
    InputError
        The source cannot be read (after the query's checks that need no source).
    """
    query = parse_query(text, ("s", "k", "t", "method"))
    s, k, method = query_source(query, backend), _k(query), _method(query, backend.method)
    return s, query_frame(query, backend.info(s)), k, method


def query_source(query: dict[str, str], backend: Backend) -> int:
    """The source a query's ``s`` (default 0) picks."""
    text = query.get("s", "0")
    count = len(backend.files)
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) >= count:
        raise Refused(
            HTTPStatus.BAD_REQUEST, f"s must be a source index 0..{count - 1}, got {text!r}"
        )
    return int(text)


def _k(query: dict[str, str]) -> int:
    text = query.get("k")
    if text is None:
        raise Refused(
            HTTPStatus.BAD_REQUEST, f"parameter 'k' is missing (a palette size, {K_MIN}..{K_MAX})"
        )
    digits = text.isascii() and text.isdigit() and len(text) <= 3
    try:
        # Anything but a short run of digits is checked as the text it is: check_k then says
        # "must be an integer" and shows it.
        check_k(int(text) if digits else text)
    except SettingsError as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, str(exc)) from None
    return int(text)


def query_frame(query: dict[str, str], source: SourceInfo) -> int:
    """The frame a query's ``t`` (seconds, default 0) picks."""
    text = query.get("t", "0")
    try:
        t = float(text) if len(text) <= 32 else math.nan
    except ValueError:
        t = math.nan
    # The last frame's start, too: a container's frame count and duration may disagree.
    end = max(source.duration_s or 0.0, source.time_of(source.frames - 1))
    if not math.isfinite(t) or not 0 <= t <= end:
        where = "0 (a still image)" if source.kind == "image" else f"seconds, 0..{end:g}"
        raise Refused(HTTPStatus.BAD_REQUEST, f"t must be {where}, got {text!r}")
    return source.index_at(t)


def _method(query: dict[str, str], default: str) -> str:
    method = query.get("method", default)
    if method not in METHODS:
        raise Refused(
            HTTPStatus.BAD_REQUEST, f"method must be one of {', '.join(METHODS)}, got {method!r}"
        )
    return method
