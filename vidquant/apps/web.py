"""The browser player's side of the CLI: a self-contained HTML folder, and a loopback server.

:func:`export_html` writes ``index.html``, the player's three ES modules (package data of
:mod:`vidquant.web`) and the ``.vq`` into one folder that any static web server serves
(``python -m http.server`` included: the player then downloads the whole file). :class:`WebServer`
serves such a folder on 127.0.0.1 only, with the explorer's checks (:mod:`.loopback`), and answers
HTTP Range requests.
"""

from __future__ import annotations

import contextlib
import html
import http.server
import logging
import shutil
import threading
from collections.abc import Iterator
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from urllib.parse import unquote

from vidquant.apps.loopback import HOST, refusal
from vidquant.errors import OutputError

log = logging.getLogger(__name__)

PLAYER_FILES = ("vq.js", "vq-worker.js", "vq-player.js")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".vq": "application/octet-stream",
    ".css": "text/css; charset=utf-8",
}


def player_source(name: str) -> bytes:
    """One of :data:`PLAYER_FILES`, as shipped in the package."""
    return resources.files("vidquant.web").joinpath(name).read_bytes()


def page(vq_name: str, title: str, width: int, height: int) -> str:
    """The ``index.html`` of an exported folder: the player at the video's own size."""
    name = html.escape(vq_name, quote=True)
    shown = html.escape(title)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{shown}</title>
<link rel="icon" href="data:,">
<script type="module" src="vq-player.js"></script>
<style>
body {{ margin: 2em; font: 14px system-ui, sans-serif; background: #f4f4f4; }}
vq-player {{ width: {width}px; max-width: 100%; }}
</style>
</head>
<body>
<h1>{shown}</h1>
<vq-player id="player" src="{name}" controls autoplay muted loop></vq-player>
<p>{width} &times; {height}, played by vq-player.js (vidquant).</p>
</body>
</html>
"""


def export_html(src: str | Path, dst: str | Path, *, force: bool = False) -> Path:
    """Write a folder that plays ``src`` (a ``.vq`` file) in a web browser; return it.

    Raises
    ------
    InputError, FormatError
        ``src`` is missing or not a readable ``.vq`` file.
    OutputError
        ``dst`` cannot be written (not empty without ``force``, not a folder, ...).
    """
    from vidquant.decoder import open_vq
    from vidquant.fileutil import atomic_folder

    src, dst = Path(src), Path(dst)
    with open_vq(src) as decoder:  # refuses what is not a .vq before anything is written
        header = decoder.header
    vq_name = src.name if src.suffix == ".vq" else src.name + ".vq"
    replaces = ("index.html", "*.vq", *PLAYER_FILES)
    with atomic_folder(dst, force=force, replaces=replaces) as tmp:
        shutil.copyfile(src, tmp / vq_name)
        for name in PLAYER_FILES:
            (tmp / name).write_bytes(player_source(name))
        text = page(vq_name, src.stem, header.width, header.height)
        (tmp / "index.html").write_text(text, encoding="utf-8")
    return dst


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "vidquant"
    server: WebServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        log.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(body=True)

    def _refuse(self, status: HTTPStatus, reason: str) -> None:
        body = reason.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, *, body: bool) -> None:
        try:
            reason = refusal(self.headers, self.server.server_address[1])
            if reason is not None:
                self._refuse(HTTPStatus.FORBIDDEN, reason)
                return
            path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
            self.server.requests.append((path, self.headers.get("Range")))
            name = "index.html" if path in ("", "/") else path.lstrip("/")
            file = self.server.files.get(name)
            if file is None:
                self._refuse(HTTPStatus.NOT_FOUND, f"no such file: {path}")
                return
            self._send_file(file, body=body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("%s closed the connection", self.address_string())

    def _send_file(self, file: Path, *, body: bool) -> None:
        size = file.stat().st_size
        start, end = 0, size  # end exclusive
        status = HTTPStatus.OK
        wanted = self.headers.get("Range")
        if wanted is not None:
            span = _parse_range(wanted, size)
            if span is None:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = span
            status = HTTPStatus.PARTIAL_CONTENT
        self.send_response(status)
        self.send_header("Content-Type", _TYPES.get(file.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "object-src 'none'; "
            "frame-ancestors 'none'",
        )
        self.end_headers()
        if not body:
            return
        with open(file, "rb") as f:
            f.seek(start)
            left = end - start
            while left > 0:
                chunk = f.read(min(left, 1 << 16))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single ``bytes=`` range, or None when it cannot be served."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":  # the last N bytes
            n = int(last)
            return (max(0, size - n), size) if n > 0 and size else None
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    end = min(end, size)
    return (start, end) if 0 <= start < end else None


class WebServer(http.server.ThreadingHTTPServer):
    """Serve the files of one folder (no listing, nothing outside it) on 127.0.0.1.

    ``port`` 0 picks a free one; :attr:`url` is the page's address.
    """

    daemon_threads = True

    def __init__(self, folder: str | Path, port: int = 0) -> None:
        folder = Path(folder)
        self.files = {p.name: p for p in folder.iterdir() if p.is_file()}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header) of each GET
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as exc:
            raise OutputError(f"cannot serve on {HOST}:{port}: {exc.strerror}") from exc
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def start(self) -> WebServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="vq-web", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)


@contextlib.contextmanager
def serving(src: str | Path, *, port: int = 0) -> Iterator[WebServer]:
    """Export ``src`` into a temporary folder and serve it; the folder goes on exit."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vidquant-web-") as tmp:
        folder = export_html(src, Path(tmp) / "page")
        server = WebServer(folder, port).start()
        try:
            yield server
        finally:
            server.stop()
