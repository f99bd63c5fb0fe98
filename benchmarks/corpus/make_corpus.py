"""Make the benchmark corpus: four kinds of deterministic clips, cached in benchmarks/out/corpus.

Every clip is made here, from photographs that installed packages ship or from drawing code, so
nothing is downloaded and the same command makes the same pixels on every machine:

- ``camera``: ``sample_media/make_sample.py``'s generator (pans, a zoom, cuts and a fade over
  scikit-image / scikit-learn photographs, with sensor noise), without its audio;
- ``cartoon``: flat-filled, outlined, anti-aliased shapes over a gradient sky: a walking figure
  made of shapes, a bouncing ball, a rotating sun, drifting clouds, parallax hills, and a hard
  cut to a night scene with a spinning windmill and twinkling stars;
- ``screen``: a synthetic desktop: an editor where text is typed with a blinking caret, a
  terminal whose log scrolls, buttons that light up under a moving mouse cursor, a ticking clock
  and a notification that slides in. Most pixels stand still from frame to frame;
- ``game``: pixel art at a quarter of the size, scaled up 4x by nearest neighbour: a tile map
  scrolled in whole (low-resolution) pixels, a parallax mountain layer, animated water, a
  walking and jumping player, enemies and spinning coins, in a 24-colour palette.

Clips are H.264 (libx264, CRF 12, preset medium), yuv420p converted and tagged as BT.709
limited range, like the sample clip, with no audio. They are made on demand, once per
(kind, size, length), and reused: delete a file (or pass ``--force``) to make it again.

Three more kinds are real screen recordings, made by ``record_screens.py`` (Xvfb, FFmpeg's
x11grab, lossless FFV1 in ``KIND_WxH_Ss.mkv``; see its docstring for the Debian packages):
``terminal`` (xterm: ``man bash`` paged, then ``top``), ``browser`` (chromium scrolling a long
documentation page with a fixed sidebar) and ``typing`` (code typed into vim). They are made
only when asked for with ``--kind``; "all kinds" (no ``--kind``) stays the four above.

Usage: python benchmarks/corpus/make_corpus.py [--kind KIND ...] [--size 640x360]
[--seconds 8] [--force]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import record_screens

from scenes import Size
from scenes.camera import camera_frames
from scenes.cartoon import cartoon_frames
from scenes.game import game_frames
from scenes.screen import screen_frames

ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = ROOT / "benchmarks" / "out" / "corpus"
DEFAULT_SIZE = (640, 360)
DEFAULT_SECONDS = 8.0
X264_OPTIONS = {"crf": "12", "preset": "medium"}


@dataclass(frozen=True)
class Kind:
    """One kind of content: its frame rate and its frame generator."""

    name: str
    fps: int
    frames: Callable[[Size, int, int], Iterator[np.ndarray]]  # (size, n_frames, fps) -> RGB
    about: str


KINDS = {
    k.name: k
    for k in (
        Kind("camera", 24, camera_frames, "photographs: pans, zoom, cuts, fade, sensor noise"),
        Kind("cartoon", 24, cartoon_frames, "flat fills, AA outlines, gradient sky, one hard cut"),
        Kind("screen", 30, screen_frames, "desktop: typing, scrolling terminal, cursor, buttons"),
        Kind("game", 30, game_frames, "4x pixel art, integer scrolling, 24-colour palette"),
    )
}


RECORDED = record_screens.CLIPS  # real programs on Xvfb: name -> about; only made when asked for
ALL_KINDS = [*KINDS, *RECORDED]


# --- writing -----------------------------------------------------------------------------------


def clip_path(kind: str, size: Size = DEFAULT_SIZE, seconds: float = DEFAULT_SECONDS) -> Path:
    """Where the clip of this kind, size and length is cached."""
    if kind in RECORDED:
        return record_screens.clip_path(kind, size, seconds)
    return CORPUS_DIR / f"{kind}_{size[0]}x{size[1]}_{seconds:g}s.mp4"


def write_clip(path: Path, frames: Iterator[np.ndarray], size: Size, fps: int) -> int:
    """Encode RGB frames to an H.264 mp4 (yuv420p, BT.709 limited range); return the count."""
    count = 0
    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.options = {**X264_OPTIONS, "g": str(2 * fps)}
        # Converted and tagged as BT.709, so every reader turns it back into the same RGB.
        ctx = video.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = 1  # BT.709
        ctx.color_range = 1  # limited ("MPEG") range
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
            count += 1
        container.mux(video.encode(None))
    return count


def ensure_clip(
    kind: str, size: Size = DEFAULT_SIZE, seconds: float = DEFAULT_SECONDS, *, force: bool = False
) -> Path:
    """The cached clip, made first when it is missing (or when ``force``)."""
    if kind in RECORDED:  # a real screen recording (FFV1 .mkv), at 30 fps
        return record_screens.ensure_recording(kind, size, seconds, force=force)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(ALL_KINDS)}, got {kind!r}")
    w, h = size
    if w % 2 or h % 2 or w < 64 or h < 64:
        raise ValueError(f"size must be even and at least 64x64, got {w}x{h}")
    if seconds <= 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    path = clip_path(kind, size, seconds)
    if path.exists() and not force:
        return path
    spec = KINDS[kind]
    n_frames = max(2, round(seconds * spec.fps))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    print(f"making {path.name} ({n_frames} frames, {spec.about}) ...", flush=True)
    write_clip(tmp, spec.frames(size, n_frames, spec.fps), size, spec.fps)
    tmp.replace(path)
    return path


def parse_size(text: str) -> Size:
    """``"640x360"`` -> (640, 360)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 640x360, got {text!r}") from None
    return w, h


def add_clip_options(parser: argparse.ArgumentParser, *, seconds: float = DEFAULT_SECONDS) -> None:
    """``--kind`` (repeatable, ``args.kind`` None for all), ``--size`` and ``--seconds``: which
    corpus clips to make or use. ``seconds`` is the default length."""
    parser.add_argument(
        "--kind",
        choices=ALL_KINDS,
        action="append",
        help=f"corpus kind (default: all but the recorded {', '.join(RECORDED)})",
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=DEFAULT_SIZE,
        help=f"clip size WxH (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]})",
    )
    parser.add_argument(
        "--seconds", type=float, default=seconds, help=f"clip length (default {seconds:g} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_clip_options(parser)
    parser.add_argument("--force", action="store_true", help="make clips again even if cached")
    args = parser.parse_args()
    for kind in args.kind or KINDS:
        try:
            path = ensure_clip(kind, args.size, args.seconds, force=args.force)
        except record_screens.RecordError as exc:
            raise SystemExit(f"error: {exc}") from None
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
