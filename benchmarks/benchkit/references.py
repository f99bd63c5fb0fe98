"""The FFmpeg references: the GIF, and the x264 and SVT-AV1 video encoders.

The GIF is one palette of k colours, no dithering, in one command. ``bench_codec`` and
``bench_corpus`` run it on clips, ``bench_image`` on one picture; all of them build the same
filter graph here. x264 and SVT-AV1 are ``bench_corpus``'s video references, run at a CRF that
``benchkit.video_refs`` searches for; their commands are built here.
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass
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
    return video_frame_count(gif)


def video_frame_count(path: Path) -> int:
    """Frames stored in a video file: its first video stream's packets with data, as PyAV
    demuxes them (Matroska records no frame count)."""
    import av

    with av.open(str(path)) as c:
        return sum(1 for p in c.demux(video=0) if p.size)


# --- x264 and SVT-AV1 -------------------------------------------------------------------------

X264_PRESET = "medium"  # the issue's, and x264's default
# SVT-AV1 presets run from 0 (slowest) to 13. Searched to vidquant's k = 32 PSNR on the 3 s
# 640x360 screen and camera clips (2 shared cores), preset 8 made 12.5 kB and 53.7 kB in 1.6 s
# and 3.7 s an encode; preset 10 files 15 % and 50 % larger in 0.7 and 0.55 times the time,
# preset 6 files 12 % smaller in 1.4 and 2.6 times the time. Preset 8 keeps a search (six
# encodes) to about a minute a clip at the default 8 s.
SVTAV1_PRESET = 8


@dataclass(frozen=True)
class VideoEncoder:
    """A lossy video reference: libavcodec encoder, its settings and its CRF range."""

    name: str  # the row's name in the report
    slug: str  # in its file names
    codec: str  # ffmpeg's encoder name
    crf_range: tuple[int, int]  # lowest (best) and highest CRF searched
    preset: str
    pix_fmt: str
    params: tuple[str, ...] = ()  # further encoder options, as ffmpeg arguments
    note: str = ""

    def command(self, ffmpeg: str, clip: Path, out: Path, crf: int) -> list[str]:
        """``ffmpeg ... -i clip -an -c:v CODEC -preset P -crf CRF ... out``: every frame of the
        clip's video at its own timestamp (no frame dropped or duplicated)."""
        return [
            ffmpeg, "-v", "error", "-y", "-i", str(clip), "-an",
            "-c:v", self.codec, "-preset", self.preset, "-crf", str(crf),
            *self.params, "-pix_fmt", self.pix_fmt,
            *passthrough_option(ffmpeg), str(out),
        ]  # fmt: skip


# The x264: 4:4:4, so that x264 is not held to chroma subsampling against RGB PSNR.
# But the corpus clips are 4:2:0, and ffmpeg's 4:2:0 to 4:4:4 conversion (bicubic chroma) is
# not the one VideoReader decodes the source with (swscale's 4:2:0 to RGB path, chroma
# repeated, its own rounding): even at CRF 0 (lossless) the file's PSNR against the source is
# capped, at 43.0 dB on the 3 s screen clip and 33.8 dB on the game clip. So x264 also runs
# in the clips' own 4:2:0, where CRF 0 gives the source's frames exactly.
X264 = VideoEncoder(
    name="x264",
    slug="x264-444",
    codec="libx264",
    crf_range=(0, 51),
    preset=X264_PRESET,
    pix_fmt="yuv444p",
    note="preset medium, yuv444p",
)
X264_420 = VideoEncoder(
    name="x264 yuv420p",
    slug="x264-420",
    codec="libx264",
    crf_range=(0, 51),
    preset=X264_PRESET,
    pix_fmt="yuv420p",
    note="preset medium, yuv420p: the clips' own chroma",
)
SVTAV1 = VideoEncoder(
    name="SVT-AV1",
    slug="svtav1",
    codec="libsvtav1",
    crf_range=(1, 63),
    preset=str(SVTAV1_PRESET),
    pix_fmt="yuv420p",  # SVT-AV1 encodes 4:2:0 only; the corpus clips are 8-bit 4:2:0 already
    params=("-svtav1-params", "scm=1"),  # screen-content mode on (0 off, 2 decided per frame)
    note=f"preset {SVTAV1_PRESET}, screen-content mode scm=1, yuv420p (its only chroma format)",
)
VIDEO_ENCODERS = (X264, X264_420, SVTAV1)


@functools.cache
def _ffmpeg_help(ffmpeg: str) -> str:
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-h", "long"], capture_output=True, text=True, check=False
    )
    return proc.stdout


@functools.cache
def _ffmpeg_encoders(ffmpeg: str) -> str:
    proc = subprocess.run(
        [ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    )
    return proc.stdout


def passthrough_option(ffmpeg: str) -> list[str]:
    """Keep every frame with its own timestamp: ``-fps_mode passthrough`` (FFmpeg 5.1 and
    later, where ``-vsync`` is deprecated), else ``-vsync passthrough``."""
    opt = "-fps_mode" if "-fps_mode" in _ffmpeg_help(ffmpeg) else "-vsync"
    return [opt, "passthrough"]


def encoder_missing(ffmpeg: str, enc: VideoEncoder) -> str | None:
    """Why ``ffmpeg`` cannot run ``enc``, or None when it has the encoder."""
    rows = (line.split() for line in _ffmpeg_encoders(ffmpeg).splitlines())
    names = {row[1] for row in rows if len(row) > 1}
    if enc.codec in names:
        return None
    return f"{ffmpeg} has no {enc.codec} encoder (Debian's ffmpeg has it)"
