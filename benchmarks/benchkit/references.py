"""The FFmpeg GIF reference: one palette of k colours, no dithering, in one command.

``bench_codec`` and ``bench_corpus`` run it on clips, ``bench_image`` on one picture; all of
them build the same filter graph here.
"""

from __future__ import annotations

from pathlib import Path

PALETTEGEN_COLOURS = (4, 256)  # the range palettegen's max_colors accepts


def palettegen_refuses(k: int) -> str | None:
    """Why palettegen cannot make ``k`` colours, or None when it can."""
    low, high = PALETTEGEN_COLOURS
    if low <= k <= high:
        return None
    return f"palettegen needs {low} <= max_colors <= {high}, k={k}"


def gif_filter(k: int, *, before: str = "") -> str:
    """The filter graph: ``before`` (filters ending in a comma), then one global palette of
    ``k`` colours from all frames (all ``k`` for colours: ``reserve_transparent=0``) applied
    without dithering."""
    from vidquant.io.reference import PALETTEGEN_OPTIONS, PALETTEUSE_OPTIONS

    return (
        f"{before}split[a][b];[a]palettegen=max_colors={k}:{PALETTEGEN_OPTIONS}"
        f"[p];[b][p]paletteuse={PALETTEUSE_OPTIONS}"
    )


def gif_command(ffmpeg: str, clip: Path, gif: Path, graph: str) -> list[str]:
    """The ffmpeg command that makes ``gif`` of the video of ``clip`` through ``graph``."""
    return [ffmpeg, "-v", "error", "-y", "-i", str(clip), "-an", "-vf", graph, str(gif)]


def gif_frame_count(gif: Path) -> int:
    """Frames stored in a GIF (packets with data, as PyAV demuxes them)."""
    import av

    with av.open(str(gif)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)
