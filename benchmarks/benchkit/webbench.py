"""Helpers of ``bench_web.py``: the browser's processes read from /proc (CPU seconds, resident
memory, a sampler thread), and the Markdown tables of its report."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from benchkit.tables import md_table

MIB = 1 << 20
TARGET_FPS, TARGET_SIZE = 60.0, "1280x720"  # the target, in headless chromium


def _proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmd = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        table[int(entry.name)] = (ppid, cmd)
    return table


def renderer_pids(root: int) -> list[int]:
    """chromium's renderer processes under ``root`` (chromedriver, which started chromium).
    Dedicated workers run in their page's renderer."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            if "--type=renderer" in table[child][1]:
                found.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RssSampler:
    """The largest renderer's resident memory, sampled every ``period`` s in a thread."""

    def __init__(self, root: int, period: float = 0.1) -> None:
        self.root, self.period = root, period
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pids = renderer_pids(self.root)
        while not self._stop.is_set():
            self.samples.append(max((rss_mib(p) for p in pids), default=0.0))
            self._stop.wait(self.period)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float | None:
        return max(self.samples) if self.samples else None


# --- Node -----------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def clip_table(clips: list[dict[str, Any]]) -> str:
    header = (
        "clip", "size", "frames", "kB", "node dec", "node +RGBA", "chr dec", "chr +RGBA",
        "chr dec (CPU)", "worker", "play shown/s", "dropped", f"{TARGET_FPS:g} fps",
    )  # fmt: skip
    rows = []
    for c in clips:
        n, ch, w, p = c["node"], c["chromium"], c["worker"], c["play"]
        rows.append(
            (
                c["kind"],
                c["size"],
                str(ch["frames"]),
                f"{c['bytes'] / 1000:,.0f}",
                f"{fmt(n['decode_fps'])} ({fmt(n.get('decode_cpu_fps'))})",
                f"{fmt(n['rgba_fps'])} ({fmt(n.get('rgba_cpu_fps'))})",
                fmt(ch["decode_fps"]),
                fmt(ch["rgba_fps"]),
                fmt(ch.get("decode_cpu_fps")),
                fmt(w.get("cold_fps")) + (" (error)" if w.get("error") else ""),
                f"{fmt(p.get('shown_fps'))} of {c['fps']:g}"
                + (" (error)" if p.get("error") else ""),
                str(p.get("dropped", "-")),
                c.get("verdict", "-"),
            )
        )
    return md_table(header, rows, align="ll" + "r" * (len(header) - 2))


def memory_table(rows: list[dict[str, Any]]) -> str:
    header = (
        "file", "frames", "MB", "heap loaded MiB", "heap peak MiB", "live peak MiB",
        "after MiB", "renderer RSS (decode) MiB", "renderer RSS (play) MiB", "play",
    )  # fmt: skip
    body = [
        (
            r["file"],
            str(r["frames"]),
            f"{r['bytes'] / 1e6:.1f}",
            fmt(r["heap_loaded_mib"]),
            fmt(r["heap_peak_mib"]),
            fmt(r["heap_live_peak_mib"]),
            fmt(r["heap_after_mib"]),
            fmt(r["decode_rss_peak_mib"], ".0f"),
            fmt(r["play_rss_peak_mib"], ".0f"),
            play_cell(r["play"]),
        )
        for r in rows
    ]
    return md_table(header, body)


def play_cell(play: dict[str, Any]) -> str:
    """How a playback went: ended with N dropped, or the error."""
    if play.get("error"):
        return "error"
    return f"{play.get('how')}, {play.get('dropped')} dropped"


def errors(rep: dict[str, Any]) -> list[str]:
    """Every error a player or worker run reported, once each with the files it hit."""
    seen: dict[str, list[str]] = {}
    for c in rep["clips"]:
        for what in ("worker", "play"):
            err = c[what].get("error")
            if err:
                msg = err["message"] if isinstance(err, dict) else str(err)
                seen.setdefault(f"{what}: {msg}", []).append(Path(c["vq"]).name)
    for m in rep["memory"]:
        err = m["play"].get("error")
        if err:
            msg = err["message"] if isinstance(err, dict) else str(err)
            seen.setdefault(f"play: {msg}", []).append(m["file"])
    return [f"- {msg} ({', '.join(files)})" for msg, files in seen.items()]
