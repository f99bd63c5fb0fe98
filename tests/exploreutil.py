"""Helpers of the explorer's tests (test_explore_*.py): HTTP requests, waiting, a blocked
computation and the command in a real process. The fixtures they share are in conftest.py."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from vidquant.apps.explore import Explorer

ROOT = Path(__file__).resolve().parent.parent


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """GET ``url``: status, headers and body, also for an error status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def get_json(explorer: Explorer, path: str, status: int = 200) -> dict:
    code, headers, body = fetch(explorer.url + path.lstrip("/"))
    assert code == status, body
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


def wait_until(condition, what: str) -> None:
    """Poll ``condition()`` until true; fail naming ``what`` after 20 s."""
    deadline = time.monotonic() + 20
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


def blocked_compute(explorer: Explorer) -> tuple[threading.Event, threading.Event]:
    """Make ``explorer``'s quantisations wait: (started, release) events."""
    started, release = threading.Event(), threading.Event()
    compute = explorer._compute

    def blocked(*key: object) -> object:
        started.set()
        assert release.wait(30)
        return compute(*key)

    explorer._compute = blocked  # type: ignore[method-assign]
    return started, release


def port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start_cli(*args: object) -> tuple[subprocess.Popen, str]:
    """``python -m vidquant explore ARGS``, and the address it printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vidquant", "explore", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("serving http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"no address printed: {line!r} {proc.communicate()}")
    assert line.endswith("/ (Ctrl-C to stop)\n"), line
    return proc, line.split()[1]
