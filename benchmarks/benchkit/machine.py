"""What a run was measured on: the machine, its load, the checkout, the versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from typing import Any

import numpy as np

from . import ROOT


def machine() -> dict[str, Any]:
    """CPU count, versions, and the load average (other load skews the timings)."""
    import av

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "av": av.__version__,
        "ffmpeg": shutil.which("ffmpeg"),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "vidquant": git_state(),
    }


def git_state() -> str:
    """The checkout's commit, with ``+dirty`` when vidquant/ has uncommitted changes."""
    git = ["git", "-C", str(ROOT)]
    # No optional locks: `git status` would otherwise refresh the index file of the checkout.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def run(*args: str) -> str:
        return subprocess.run([*git, *args], capture_output=True, text=True, env=env).stdout

    head, dirty = run("rev-parse", "--short", "HEAD"), run("status", "--porcelain", "vidquant")
    return (head.strip() or "unknown") + ("+dirty" if dirty.strip() else "")


def tool_version(cmd: list[str]) -> str | None:
    """The first line a program prints for ``cmd`` (``["ffmpeg", "-version"]``); None when the
    program is not on PATH."""
    if shutil.which(cmd[0]) is None:
        return None
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else None


def package_version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    # Imported here: importlib.metadata adds about 3 MiB to a measured child's base memory.
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
