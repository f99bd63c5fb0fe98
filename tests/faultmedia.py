"""Awkward and broken inputs for the fault tests, made here with PyAV and numpy (no downloads).

- :func:`patch_frame` is a grid of flat colour patches: after a lossy codec and 4:2:0 chroma the
  patches' insides keep their colour, so a wrong colour matrix or range shows as a shift of
  several levels, which a noisy test picture would hide.
- :func:`write_video` writes frames with any codec, pixel format, container options, timestamps
  or display rotation; :func:`write_image`, :func:`write_audio_only` and
  :func:`write_no_frames` make the inputs that are not quite videos.
- :func:`truncate` and :func:`damage_packets` break a finished file the way a failed copy or a
  bad disk does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

# Saturated primaries and secondaries, greys, and some mid tones: 24 colours, fewer than the
# palette size the tests use, so the palette can hold every one of them.
PATCH_COLOURS = np.array(
    [
        (230, 30, 30),
        (30, 200, 40),
        (40, 60, 220),
        (240, 220, 40),
        (40, 210, 220),
        (220, 50, 210),
        (250, 250, 250),
        (128, 128, 128),
        (20, 20, 20),
        (200, 150, 110),
        (120, 80, 40),
        (90, 140, 200),
        (250, 140, 20),
        (130, 30, 150),
        (60, 110, 60),
        (190, 190, 100),
        (100, 40, 50),
        (170, 210, 240),
        (60, 60, 110),
        (230, 170, 190),
        (180, 180, 180),
        (70, 70, 70),
        (150, 100, 180),
        (30, 130, 130),
    ],
    dtype=np.uint8,
)


def patch_frame(i: int, width: int, height: int, *, patch: int = 8) -> np.ndarray:
    """Frame ``i``: flat ``patch`` x ``patch`` squares of :data:`PATCH_COLOURS`, shifted by one
    colour per frame (so frames differ and their order shows)."""
    rows, cols = -(-height // patch), -(-width // patch)
    index = (np.arange(rows * cols).reshape(rows, cols) + i) % len(PATCH_COLOURS)
    grid = PATCH_COLOURS[index]
    return np.ascontiguousarray(grid.repeat(patch, 0).repeat(patch, 1)[:height, :width])


def patch_colours(rgb: np.ndarray, *, patch: int = 8, margin: int = 2) -> np.ndarray:
    """Median colour of the inside of every whole patch (``margin`` pixels in from its edges,
    where 4:2:0 chroma blurs), shape (patches, channels), float."""
    h, w = rgb.shape[:2]
    means = []
    for y in range(0, h - patch + 1, patch):
        for x in range(0, w - patch + 1, patch):
            inside = rgb[y + margin : y + patch - margin, x + margin : x + patch - margin]
            means.append(np.median(inside.reshape(-1, rgb.shape[2]), axis=0))
    return np.array(means)


def write_video(
    path: Path,
    frames: Iterable[np.ndarray],
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    fps: int = 12,
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
) -> Path:
    """Write RGB (h, w, 3) or RGBA (h, w, 4) uint8 frames as a video.

    ``pts`` (in ``time_base`` units) makes a variable frame rate; ``rotation`` (degrees,
    counter-clockwise) stores a display matrix, as phones do; ``container_options`` go to the
    muxer (``movflags``).
    """
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    opts = {"crf": "12", "preset": "ultrafast"} if codec == "libx264" else {}
    if codec == "libx265":
        opts = {"crf": "12", "preset": "ultrafast", "x265-params": "log-level=error"}
    opts.update(options or {})
    with av.open(str(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps, options=opts)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            stream.codec_context.time_base = time_base
        if pix_fmt.startswith("gray"):
            stream.codec_context.color_range = 2  # swscale's grey is full range: say so
        if rotation:
            stream.set_display_rotation(rotation)
        for i, rgb in enumerate([first, *frames]):
            layout = "rgba" if rgb.shape[2] == 4 else "rgb24"
            vframe = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format=layout)
            vframe = vframe.reformat(format=pix_fmt)
            vframe.pts = pts[i] if pts is not None else i
            vframe.time_base = time_base if time_base is not None else Fraction(1, fps)
            container.mux(stream.encode(vframe))
        container.mux(stream.encode(None))
    return path


def write_image(path: Path, rgb: np.ndarray, *, codec: str = "png") -> Path:
    """A still picture file: ``png`` (RGB) or ``mjpeg`` (a JPEG, full-range 4:2:0)."""
    pix_fmt = "rgb24" if codec == "png" else "yuvj420p"
    ctx = av.CodecContext.create(codec, "w")
    ctx.width, ctx.height, ctx.pix_fmt = rgb.shape[1], rgb.shape[0], pix_fmt
    ctx.time_base = Fraction(1, 25)
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    packets = ctx.encode(frame.reformat(format=pix_fmt)) + ctx.encode(None)
    path.write_bytes(b"".join(bytes(p) for p in packets))
    return path


def write_audio_only(path: Path, *, seconds: float = 0.5) -> Path:
    """An AAC file without a video stream (``.m4a`` or ``.mp4``)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000, layout="mono")
        n = int(48000 * seconds)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 48000)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_no_frames(path: Path, *, codec: str = "libvpx-vp9") -> Path:
    """A file whose container declares a video stream that holds no frame at all."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=12)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        container.start_encoding()  # header (and trailer) without a single packet
    return path


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    """The first ``fraction`` of ``src``'s bytes, as a copy cut off mid-transfer would be."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@dataclass(frozen=True)
class PacketInfo:
    """Where one video packet of a file lies: time in seconds, byte position and size."""

    time_s: float
    pos: int
    size: int


def video_packets(path: Path) -> list[PacketInfo]:
    """The first video stream's packets in file order (the demuxer's flush packet left out)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [
            PacketInfo(float(p.pts * stream.time_base), p.pos, p.size)
            for p in container.demux(stream)
            if p.size and p.pts is not None
        ]


def damage_packets(src: Path, dst: Path, which: Sequence[int], *, length: int = 16) -> list[float]:
    """Copy ``src`` to ``dst`` with ``length`` zero bytes written over the middle of the video
    packets numbered ``which`` (0-based, file order); return those packets' times in seconds.

    With a PNG-coded stream the zeros land in the compressed image data, whose decoding then
    fails (zlib refuses it), while the container around the packets stays intact.
    """
    packets = video_packets(src)
    data = bytearray(src.read_bytes())
    for n in which:
        p = packets[n]
        assert p.size > 2 * length, f"packet {n} is too small to damage ({p.size} bytes)"
        middle = p.pos + p.size // 2
        data[middle : middle + length] = bytes(length)
    dst.write_bytes(bytes(data))
    return [packets[n].time_s for n in which]
