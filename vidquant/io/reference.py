"""Reference encodings for ``vidquant compare``: H.264 (libx264) and FFmpeg's GIF palette pipeline.

Both take RGB :class:`~vidquant.frames.Frame` values at their own timestamps and write a file
that :class:`~vidquant.io.reader.VideoReader` reads back, so the caller measures them exactly as
it measures the ``.vq``. Nothing here computes a metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np

from vidquant.errors import OutputError
from vidquant.frames import Frame

_GIF_TIME_BASE = Fraction(1, 100)  # GIF delays are in centiseconds
# FFmpeg's GIF pipeline as a user would run it: one palette of all k colours from every frame
# (none kept for transparency), applied without dithering. The benchmarks run the same options.
PALETTEGEN_OPTIONS = "stats_mode=full:reserve_transparent=0"
PALETTEUSE_OPTIONS = "dither=none"


@dataclass(frozen=True)
class EncodedReference:
    """A reference file written by :func:`write_h264` or :func:`write_gif`.

    Attributes
    ----------
    path
        The file.
    video_bytes
        Payload bytes of its video packets (what the bitrate counts).
    file_bytes
        Its size on disk, container included.
    frames
        Frames written.
    """

    path: Path
    video_bytes: int
    file_bytes: int
    frames: int


def write_h264(
    frames: Iterable[Frame],
    path: Path,
    *,
    width: int,
    height: int,
    fps: Fraction,
    time_base: Fraction,
    crf: int,
    preset: str = "medium",
    on_frame: Callable[[], None] | None = None,
) -> EncodedReference:
    """Encode ``frames`` with libx264 (yuv420p, BT.709 limited range) into an mp4 at ``path``.

    Odd sizes are padded by one repeated column or row (yuv420p needs even sizes); readers get
    the padded size back and should crop.

    Parameters
    ----------
    frames
        RGB frames of ``width`` x ``height``, timestamps in ``time_base``.
    crf
        x264 constant rate factor, 0..51 (lower is better and larger).
    preset
        x264 preset; ``medium`` is x264's default.
    on_frame
        Called after each frame is sent to the encoder (progress).

    Raises
    ------
    OutputError
        ``path`` cannot be written.
    """
    pad_h, pad_w = height % 2, width % 2
    try:
        container = av.open(str(path), mode="w", format="mp4")
    except (av.error.FFmpegError, OSError) as exc:
        raise OutputError(f"cannot write {path}: {exc}") from exc
    video_bytes = count = 0
    with container:
        stream = container.add_stream(
            "libx264", rate=fps, options={"crf": str(crf), "preset": preset}
        )
        stream.width, stream.height = width + pad_w, height + pad_h
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        ctx = stream.codec_context
        ctx.time_base = time_base
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = 1  # BT.709, as converted below
        ctx.color_range = 1  # limited range

        def mux(packets: list[av.Packet]) -> None:
            nonlocal video_bytes
            for packet in packets:
                video_bytes += packet.size
            container.mux(packets)

        for frame in frames:
            rgb = frame.rgb
            if pad_h or pad_w:
                rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
            vframe = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            vframe = vframe.reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG"
            )
            vframe.pts = round(frame.pts * frame.time_base / time_base)
            vframe.time_base = time_base
            mux(stream.encode(vframe))
            count += 1
            if on_frame is not None:
                on_frame()
        mux(stream.encode(None))
    return EncodedReference(path, video_bytes, path.stat().st_size, count)


def write_gif(
    open_frames: Callable[[], Iterable[Frame]],
    path: Path,
    *,
    width: int,
    height: int,
    k: int,
    on_frame: Callable[[], None] | None = None,
) -> EncodedReference:
    """FFmpeg's GIF pipeline: one palette for the clip, then every frame mapped to it.

    Two passes over the frames (so that no frame is held): ``palettegen`` (``max_colors=k``,
    ``stats_mode=full``, ``reserve_transparent=0``) builds the palette from all frames, then
    ``paletteuse`` (``dither=none``) maps each frame to it, and the ``gif`` encoder writes pal8
    frames with centisecond delays.

    Parameters
    ----------
    open_frames
        Returns a fresh iterable of the same RGB frames each time it is called (twice).
    k
        Palette size, 2..256.
    on_frame
        Called after each frame of each pass (progress: twice the frame count in all).

    Raises
    ------
    OutputError
        ``path`` cannot be written.
    """
    palette = _gif_palette(open_frames(), width=width, height=height, k=k, on_frame=on_frame)
    graph = av.filter.Graph()
    video_in = graph.add_buffer(
        width=width, height=height, format="rgb24", time_base=_GIF_TIME_BASE, name="video"
    )
    palette_in = graph.add_buffer(
        width=palette.width,
        height=palette.height,
        format=palette.format.name,
        time_base=_GIF_TIME_BASE,
        name="palette",
    )
    use = graph.add("paletteuse", PALETTEUSE_OPTIONS)
    sink = graph.add("buffersink")
    video_in.link_to(use, 0, 0)
    palette_in.link_to(use, 0, 1)
    use.link_to(sink)
    graph.configure()
    palette.pts, palette.time_base = 0, _GIF_TIME_BASE
    palette_in.push(palette)
    palette_in.push(None)  # paletteuse keeps using the last palette it got

    try:
        container = av.open(str(path), mode="w", format="gif")
    except (av.error.FFmpegError, OSError) as exc:
        raise OutputError(f"cannot write {path}: {exc}") from exc
    video_bytes = count = 0
    with container:
        stream = container.add_stream("gif", rate=100)
        stream.width, stream.height, stream.pix_fmt = width, height, "pal8"
        stream.codec_context.time_base = _GIF_TIME_BASE

        def drain() -> None:
            nonlocal video_bytes, count
            for out in _pull_all(sink):
                out.time_base = _GIF_TIME_BASE
                for packet in stream.encode(out):
                    video_bytes += packet.size
                    container.mux(packet)
                count += 1

        last = -1
        for frame in open_frames():
            # Centiseconds, strictly increasing (two frames closer than 10 ms get 1 cs apart).
            pts = max(last + 1, round(frame.pts * frame.time_base / _GIF_TIME_BASE))
            last = pts
            vframe = av.VideoFrame.from_ndarray(frame.rgb, format="rgb24")
            vframe.pts, vframe.time_base = pts, _GIF_TIME_BASE
            video_in.push(vframe)
            drain()
            if on_frame is not None:
                on_frame()
        video_in.push(None)
        drain()
        for packet in stream.encode(None):
            video_bytes += packet.size
            container.mux(packet)
    return EncodedReference(path, video_bytes, path.stat().st_size, count)


def _gif_palette(
    frames: Iterable[Frame],
    *,
    width: int,
    height: int,
    k: int,
    on_frame: Callable[[], None] | None,
) -> av.VideoFrame:
    graph = av.filter.Graph()
    source = graph.add_buffer(width=width, height=height, format="rgb24", time_base=_GIF_TIME_BASE)
    gen = graph.add("palettegen", f"max_colors={k}:{PALETTEGEN_OPTIONS}")
    sink = graph.add("buffersink")
    source.link_to(gen)
    gen.link_to(sink)
    graph.configure()
    for i, frame in enumerate(frames):
        vframe = av.VideoFrame.from_ndarray(frame.rgb, format="rgb24")
        vframe.pts, vframe.time_base = i, _GIF_TIME_BASE  # palettegen ignores timing
        source.push(vframe)
        if on_frame is not None:
            on_frame()
    source.push(None)
    palettes = list(_pull_all(sink))
    if not palettes:
        raise OutputError("palettegen produced no palette (no frames?)")
    return palettes[-1]


def _pull_all(sink: av.filter.context.FilterContext) -> Iterable[av.VideoFrame]:
    while True:
        try:
            yield sink.pull()
        except (av.BlockingIOError, av.EOFError):
            return
