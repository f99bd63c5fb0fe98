"""Measured processes: a fresh interpreter per job, external programs, their peak memory."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import ROOT

# A child job: its command-line arguments (strings) -> a JSON-serialisable dict of figures.
Job = Callable[..., dict[str, Any]]


def peak_rss_mib() -> float:
    """Peak RSS of this process image in MiB: VmHWM, else ru_maxrss (Linux: KiB).

    VmHWM starts afresh at exec. ru_maxrss does not: Linux carries the spawning process's
    high-water mark over exec, so a child's ru_maxrss is never below its parent's RSS.
    """
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_measured(cmd: list[str]) -> tuple[str, float, float]:
    """Run ``cmd``; return (stdout, wall seconds, peak RSS in MiB of that child alone).

    ``os.wait4`` gives the rusage of exactly this child (RUSAGE_CHILDREN's ru_maxrss is the
    largest of all children so far). It is an upper bound: see :func:`peak_rss_mib`. The
    checkout goes on the child's ``PYTHONPATH``, so a child needs no ``pip install -e .``.
    """
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": path}
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return out, wall, usage.ru_maxrss / 1024  # Linux reports KiB


def run_child(script: str | Path, job: str, *args: str | Path) -> dict[str, Any]:
    """Run ``job`` in a fresh interpreter through ``script --child job args...``.

    Returns the job's JSON result plus ``process_s``, the wall time of the whole child process
    (interpreter start-up and imports included).
    """
    cmd = [sys.executable, str(Path(script).resolve()), "--child", job, *map(str, args)]
    out, wall, _ = run_measured(cmd)
    return {**json.loads(out.strip().splitlines()[-1]), "process_s": wall}


def child_main(argv: Sequence[str], jobs: Mapping[str, Job]) -> bool:
    """When ``argv`` is ``[script, "--child", job, *args]``, run the job and print its result
    as one JSON line (what :func:`run_child` reads); return whether it was a child."""
    if len(argv) <= 2 or argv[1] != "--child":
        return False
    job = jobs.get(argv[2])
    if job is None:
        raise SystemExit(f"unknown child mode {argv[2]!r}")
    print(json.dumps(job(*argv[3:])))
    return True


def touch_frames(frames: Iterable[np.ndarray]) -> int:
    """Count frames, reading one pixel of each so that it really exists."""
    n = touched = 0
    for rgb in frames:
        touched ^= int(rgb[-1, -1, 0])
        n += 1
    return n


class ToolError(RuntimeError):
    """An external program failed (exited non-zero, or did not write its output)."""

    def __init__(self, cmd: Sequence[str], returncode: int, stderr: str) -> None:
        lines = stderr.strip().splitlines() or ["no message"]
        super().__init__(f"{Path(cmd[0]).name} exited {returncode}: {lines[-1]}")
        self.cmd, self.returncode, self.stderr = list(cmd), returncode, stderr


@dataclass(frozen=True)
class ToolRun:
    """One run of an external program."""

    wall_s: float  # the whole process, start-up included
    peak_mib: float  # its own peak RSS; NaN when not measured
    stderr: str


def run_tool(cmd: list[str], *, memory: bool = True) -> ToolRun:
    """Run an external program; its wall time and, with ``memory``, its own peak memory.

    The memory is measured under ``/usr/bin/time`` when it exists: that small process forks
    the tool, so the tool's ``ru_maxrss`` starts afresh instead of inheriting this
    interpreter's (see :func:`peak_rss_mib`).

    Raises
    ------
    ToolError
        The program exited non-zero.
    """
    import tempfile  # here, not at the top: a measured child should not pay for it

    timer = None
    if memory:
        timer = shutil.which("time") or (
            "/usr/bin/time" if Path("/usr/bin/time").exists() else None
        )
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        full = [timer, "-f", "%M", "-o", rss.name, *cmd] if timer else cmd
        t0 = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise ToolError(cmd, proc.returncode, proc.stderr)
        peak = float(rss.read().split()[-1]) / 1024 if timer else float("nan")
    return ToolRun(wall, peak, proc.stderr)
