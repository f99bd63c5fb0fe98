"""The explorer's HTTP side: the server's life, the request handler, and the page's files.

:class:`LocalService` serves a :class:`~vidquant.apps.explore.api.Backend` (the
:class:`~vidquant.apps.explore.Explorer` composes one) on 127.0.0.1; :class:`Handler` turns a
request into calls on it through :mod:`.api`, which checks every query parameter. A bad request
gets a status and a one-line JSON error, never a traceback. A busy explorer answers 503 with
``Retry-After``; a request another web site's page makes the browser send is refused (403).
"""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import urlsplit

from vidquant.apps.explore.api import (
    Backend,
    Refused,
    parse_query,
    query_frame,
    query_settings,
    query_source,
    result_json,
    source_json,
    sources_json,
)
from vidquant.apps.explore.types import Busy
from vidquant.apps.loopback import HOST, refusal
from vidquant.errors import InputError, OutputError, SettingsError

__all__ = ["HOST", "Handler", "LocalService", "load_assets"]

log = logging.getLogger(__name__)

RETRY_AFTER_S = 1  # what a busy explorer asks a client to wait before asking again


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

    def __init__(self, address: tuple[str, int], handler: type, backend: Backend) -> None:
        self.backend = backend
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("request from %s failed", client_address, exc_info=True)


class LocalService:
    """``backend``'s page served on 127.0.0.1 by a background thread: :meth:`start`,
    :meth:`stop`, :meth:`wait`, :attr:`url`, and a ``with`` block that starts and stops it.

    Raises
    ------
    SettingsError
        ``port`` is not 0..65535.
    """

    def __init__(self, port: int, backend: Backend) -> None:
        if not 0 <= port <= 65535:
            raise SettingsError(f"--port must be 0..65535 (0: any free port), got {port}")
        self.port = port
        self.backend = backend
        self._server: Server | None = None
        self._stopped = threading.Event()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` is called (until the next :meth:`start`)."""
        return self._stopped.is_set()

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
            self._server = Server((HOST, self.port), Handler, self.backend)
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


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"  # keep-alive: the page asks for three things per setting
    timeout = 60  # an idle keep-alive connection's thread ends after a minute
    server_version = "vidquant-explore"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)  # not a line per request

    def do_GET(self) -> None:
        backend = self.server.backend
        url = urlsplit(self.path)
        try:
            self._check_request()
            if url.path in backend.assets:
                parse_query(url.query, ())
                body, content_type = backend.assets[url.path]
                self._send(HTTPStatus.OK, body, content_type, cache="no-cache")
            elif url.path == "/api/sources":
                parse_query(url.query, ())
                self._send_json(HTTPStatus.OK, sources_json(backend))
            elif url.path == "/api/source":
                s = query_source(parse_query(url.query, ("s",)), backend)
                self._send_json(HTTPStatus.OK, source_json(backend, s))
            elif url.path == "/api/quantize":
                s, index, k, method = query_settings(url.query, backend)
                result, cached = backend.result(s, index, k, method)
                self._send_json(HTTPStatus.OK, result_json(backend.info(s), result, cached))
            elif url.path == "/img/original":
                query = parse_query(url.query, ("s", "t"))
                s = query_source(query, backend)
                index = query_frame(query, backend.info(s))
                if not self._not_modified():
                    self._send_png(backend.original_png(s, index))
            elif url.path == "/img/quantized":
                s, index, k, method = query_settings(url.query, backend)
                if not self._not_modified():
                    self._send_png(backend.result(s, index, k, method)[0].png)
            else:
                raise Refused(HTTPStatus.NOT_FOUND, f"no such page: {url.path}")
        except Refused as exc:
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

    def _check_request(self) -> None:
        reason = refusal(self.headers, self.server.server_address[1])
        if reason is not None:
            raise Refused(HTTPStatus.FORBIDDEN, reason)

    def _not_modified(self) -> bool:
        """Answer 304 when the browser holds this URL from this server (no work needed)."""
        if self.headers.get("If-None-Match") != self.server.backend.etag:
            return False
        self.send_response(HTTPStatus.NOT_MODIFIED)
        self.send_header("ETag", self.server.backend.etag)
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
            self.send_header("ETag", self.server.backend.etag)
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
