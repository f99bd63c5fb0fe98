"""The explorer's HTTP side: the server's life, the request handler, query checks and JSON.

:class:`~vidquant.apps.explore.Explorer` owns the sources, the caches and the computing; this module
serves it (:class:`LocalService`) and turns requests into calls on it. Every query parameter is
checked here, and a bad request gets a status and a one-line JSON error, never a traceback.
A busy explorer answers 503 with ``Retry-After``; a request another web site's page makes the
browser send is refused (403).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from vidquant.apps.still import METHODS
from vidquant.errors import InputError, OutputError, SettingsError, VidquantError

if TYPE_CHECKING:
    from vidquant.apps.explore import Explorer, Result, SourceInfo

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # loopback only: the page shows the user's pictures to whoever connects
K_MIN, K_MAX = 2, 256
RETRY_AFTER_S = 1  # what a busy explorer asks a client to wait before asking again
# Sec-Fetch-Site values of requests that a page of this server, or no page at all (an address
# typed or a bookmark; curl sends no header), made.
_OWN_FETCH_SITES = frozenset({"same-origin", "none"})


class Busy(VidquantError):
    """Too many requests already wait for the explorer's computing slots: ask again later."""


def load_assets() -> dict[str, tuple[bytes, str]]:
    """The page's fixed files, by URL path: the only files served."""
    package = resources.files(__package__) / "static"
    return {
        url: (package.joinpath(name).read_bytes(), content_type)
        for url, name, content_type in (
            ("/", "explore.html", "text/html; charset=utf-8"),
            ("/explore.js", "explore.js", "text/javascript; charset=utf-8"),
            ("/explore.css", "explore.css", "text/css; charset=utf-8"),
        )
    }


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a browser's idle keep-alive connection must not delay a stop
    allow_reuse_port = False  # a second server on a port in use must fail, not share it

    def __init__(self, address: tuple[str, int], handler: type, explorer: Explorer) -> None:
        self.explorer = explorer
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("request from %s failed", client_address, exc_info=True)


class LocalService:
    """A page served on 127.0.0.1 by a background thread: :meth:`start`, :meth:`stop`,
    :meth:`wait`, :attr:`url`, and a ``with`` block that starts and stops it. The subclass
    (:class:`~vidquant.apps.explore.Explorer`) is what :class:`Handler` asks.

    Raises
    ------
    SettingsError
        ``port`` is not 0..65535.
    """

    def __init__(self, port: int) -> None:
        if not 0 <= port <= 65535:
            raise SettingsError(f"--port must be 0..65535 (0: any free port), got {port}")
        self.port = port
        self._server: Server | None = None
        self._stopped = threading.Event()

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

    def start(self) -> LocalService:
        """Bind to 127.0.0.1 and serve in a background thread; returns ``self``.

        Raises
        ------
        OutputError
            The port is in use or may not be used: like an output file that exists, the place
            asked for is taken, and another ``port`` (or 0) is the fix.
        """
        if self._server is not None:
            raise RuntimeError("the explorer is already started")
        try:
            self._server = Server((HOST, self.port), Handler, self)  # type: ignore[arg-type]
        except OSError as exc:
            raise OutputError(
                f"cannot serve on {HOST}:{self.port}: {exc.strerror or exc}; "
                "choose another --port, or --port 0 for a free one"
            ) from exc
        self._stopped.clear()
        thread = threading.Thread(target=self._server.serve_forever, name="explore-serve")
        thread.daemon = True
        thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (the port is free afterwards). Idempotent."""
        server, self._server = self._server, None
        self._stopped.set()
        if server is not None:
            server.shutdown()  # waits for serve_forever to return
            server.server_close()

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread (or Ctrl-C interrupts)."""
        while not self._stopped.wait(0.5):
            pass

    def __enter__(self) -> LocalService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Refused(Exception):
    """A request the server turns down: its status and the message sent back as JSON."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"  # keep-alive: the page asks for three things per setting
    timeout = 60  # an idle keep-alive connection's thread ends after a minute
    server_version = "vidquant-explore"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)  # not a line per request

    def do_GET(self) -> None:
        explorer = self.server.explorer
        url = urlsplit(self.path)
        try:
            self._check_host()
            self._check_site()
            if url.path in explorer._assets:
                _query(url.query, ())
                body, content_type = explorer._assets[url.path]
                self._send(HTTPStatus.OK, body, content_type, cache="no-cache")
            elif url.path == "/api/sources":
                _query(url.query, ())
                self._send_json(HTTPStatus.OK, _sources_json(explorer))
            elif url.path == "/api/source":
                s = _source_index(_query(url.query, ("s",)), explorer)
                self._send_json(HTTPStatus.OK, _source_json(explorer, s))
            elif url.path == "/api/quantize":
                s, index, k, method = _settings(url.query, explorer)
                result, cached = explorer.result(s, index, k, method)
                self._send_json(HTTPStatus.OK, _result_json(explorer.info(s), result, cached))
            elif url.path == "/img/original":
                query = _query(url.query, ("s", "t"))
                s = _source_index(query, explorer)
                index = _frame_index(query, explorer.info(s))
                if not self._not_modified():
                    self._send_png(explorer.original_png(s, index))
            elif url.path == "/img/quantized":
                s, index, k, method = _settings(url.query, explorer)
                if not self._not_modified():
                    self._send_png(explorer.result(s, index, k, method)[0].png)
            else:
                raise _Refused(HTTPStatus.NOT_FOUND, f"no such page: {url.path}")
        except _Refused as exc:
            self._send_json(exc.status, {"error": str(exc)})
        except Busy as exc:  # not queued: the page asks again, for its latest setting by then
            retry = {"Retry-After": str(RETRY_AFTER_S)}
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)}, retry)
        except InputError as exc:  # not a picture, no frame at that time, or the file went away
            self._send_json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            log.debug("%s closed the connection", self.address_string())
        except Exception:  # noqa: BLE001 - the last line of defence: a 500, not a traceback
            log.exception("internal error on %s", self.path)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})

    def _check_host(self) -> None:
        # Against DNS rebinding: a web page whose name resolves to 127.0.0.1 reaches this
        # server from the user's browser, but its requests carry its own name as the Host.
        host = self.headers.get("Host")
        port = self.server.server_address[1]
        if host is not None and host not in (f"{HOST}:{port}", f"localhost:{port}"):
            raise _Refused(HTTPStatus.FORBIDDEN, f"unexpected Host header {host!r}")

    def _check_site(self) -> None:
        # Any web page the user visits can make the browser ask this server for pictures (the
        # Host is then right): it cannot read the answers, but it can burn the CPU. Browsers
        # say where a request comes from; clients that are no browser say nothing.
        site = self.headers.get("Sec-Fetch-Site")
        if site is not None and site not in _OWN_FETCH_SITES:
            raise _Refused(HTTPStatus.FORBIDDEN, f"refused a request from another site ({site})")
        origin = self.headers.get("Origin")
        port = self.server.server_address[1]
        if origin is not None and origin not in (
            f"http://{HOST}:{port}",
            f"http://localhost:{port}",
        ):
            raise _Refused(HTTPStatus.FORBIDDEN, f"refused a request from origin {origin!r}")

    def _not_modified(self) -> bool:
        """Answer 304 when the browser holds this URL from this server (no work needed)."""
        if self.headers.get("If-None-Match") != self.server.explorer.etag:
            return False
        self.send_response(HTTPStatus.NOT_MODIFIED)
        self.send_header("ETag", self.server.explorer.etag)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def _send_png(self, body: bytes) -> None:
        self._send(HTTPStatus.OK, body, "image/png", cache="no-cache", etag=True)

    def _send_json(
        self, status: HTTPStatus, payload: dict[str, object], headers: dict[str, str] | None = None
    ) -> None:
        body = json.dumps(payload, allow_nan=False).encode()
        self._send(status, body, "application/json", cache="no-store", headers=headers)

    def _send(
        self,
        status: HTTPStatus,
        body: bytes,
        content_type: str,
        *,
        cache: str,
        etag: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        if etag:
            self.send_header("ETag", self.server.explorer.etag)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        # Nothing from elsewhere (data: is the empty favicon): the page works offline and runs
        # only its own script.
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
        )
        self.end_headers()
        self.wfile.write(body)


def _info_json(info: SourceInfo) -> dict[str, object]:
    fields = {f.name: getattr(info, f.name) for f in dataclasses.fields(info) if f.name != "path"}
    return {**fields, "name": info.path.name, "preview": info.preview}


def _settings_json(explorer: Explorer) -> dict[str, object]:
    return {
        "k_min": K_MIN,
        "k_max": K_MAX,
        "k": explorer.k,
        "method": explorer.method,
        "methods": list(METHODS),
    }


def _source_json(explorer: Explorer, s: int) -> dict[str, object]:
    info = _info_json(explorer.info(s))
    return {**info, "index": s, "count": len(explorer.files), **_settings_json(explorer)}


def _sources_json(explorer: Explorer) -> dict[str, object]:
    """Every source, with what is known without reading any: a source not yet opened has
    null ``kind``, sizes and length; one that could not be read has its ``error``."""
    sources = []
    for s, file in enumerate(explorer.files):
        known = explorer.known(s)
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
    return {"sources": sources, "skipped": explorer.skipped, **_settings_json(explorer)}


def _result_json(s: SourceInfo, r: Result, cached: bool) -> dict[str, object]:
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


def _query(text: str, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query's parameters, each at most once and each one of ``allowed``."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True) if text else []
    except ValueError as exc:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"malformed query: {exc}") from None
    query: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            expected = ", ".join(allowed) or "none"
            raise _Refused(
                HTTPStatus.BAD_REQUEST, f"unknown parameter {name!r} (expected: {expected})"
            )
        if name in query:
            raise _Refused(HTTPStatus.BAD_REQUEST, f"parameter {name!r} given twice")
        query[name] = value
    return query


def _settings(text: str, explorer: Explorer) -> tuple[int, int, int, str]:
    """Source, frame index, k and method from a query's ``s``, ``t``, ``k`` and ``method``.

    Raises
    ------
    InputError
        The source cannot be read (after the query's checks that need no source).
    """
    query = _query(text, ("s", "k", "t", "method"))
    s, k, method = _source_index(query, explorer), _k(query), _method(query, explorer.method)
    return s, _frame_index(query, explorer.info(s)), k, method


def _source_index(query: dict[str, str], explorer: Explorer) -> int:
    """The source a query's ``s`` (default 0) picks."""
    text = query.get("s", "0")
    count = len(explorer.files)
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or int(text) >= count:
        raise _Refused(
            HTTPStatus.BAD_REQUEST, f"s must be a source index 0..{count - 1}, got {text!r}"
        )
    return int(text)


def _k(query: dict[str, str]) -> int:
    text = query.get("k")
    if text is None:
        raise _Refused(
            HTTPStatus.BAD_REQUEST, f"parameter 'k' is missing (a palette size, {K_MIN}..{K_MAX})"
        )
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        raise _Refused(
            HTTPStatus.BAD_REQUEST, f"k must be an integer {K_MIN}..{K_MAX}, got {text!r}"
        )
    k = int(text)
    if not K_MIN <= k <= K_MAX:
        raise _Refused(HTTPStatus.BAD_REQUEST, f"k must be {K_MIN}..{K_MAX}, got {k}")
    return k


def _frame_index(query: dict[str, str], source: SourceInfo) -> int:
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
        raise _Refused(HTTPStatus.BAD_REQUEST, f"t must be {where}, got {text!r}")
    return source.index_at(t)


def _method(query: dict[str, str], default: str) -> str:
    method = query.get("method", default)
    if method not in METHODS:
        raise _Refused(
            HTTPStatus.BAD_REQUEST, f"method must be one of {', '.join(METHODS)}, got {method!r}"
        )
    return method
