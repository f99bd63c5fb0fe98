"""Look inside a ``.vq`` file: one frame's pictures and its palette over time.

:func:`inspect_file` decodes the frame shown at a time, finds the original frame it was made
from (when the source video is at hand) and writes four PNG pictures (see
:mod:`vidquant.apps.pictures`): the decoded frame beside the original, the pixels' colours in RGB
space, the frame's palette, and the palette's entries over the whole file with the keyframes
marked. :func:`read_palette_timeline` gathers that last one from the records' palette deltas
alone, without decoding a label map.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidquant.apps.pictures import (
    save_colour_scatter,
    save_palette_strip,
    save_palette_timeline,
    save_side_by_side,
)
from vidquant.codec.meta import encode_start_s, source_name, still_time_s
from vidquant.codec.records import FrameRecord, Header
from vidquant.colours import count_colours
from vidquant.decoder import VqDecoder, open_vq
from vidquant.errors import FormatError, InputError, OutputError, SettingsError
from vidquant.fileutil import atomic_path, check_output
from vidquant.frames import PaletteFrame
from vidquant.metrics import psnr

log = logging.getLogger(__name__)

# The timeline keeps at most this many columns (and keyframe marks): about one per pixel of
# the picture, and a bounded memory (2000 x 256 x 3 bytes) whatever the file's length.
TIMELINE_COLUMNS = 2000
# Seconds of the original read after the frame's time: enough for the reader's look-ahead.
_ORIGINAL_SPAN_S = 1.0

# The pictures inspect_file writes, in order; each file is named frame_NNNNNN_<picture>.png.
PICTURES = ("side_by_side", "scatter", "palette", "palette_timeline")


@dataclass(frozen=True, eq=False)
class PaletteTimeline:
    """The palette of a ``.vq`` file over time, thinned to a bounded number of columns.

    Attributes
    ----------
    frames
        Frame numbers (0-based) of the columns kept, shape (n,), int64: every
        ``frame_step``-th frame from frame 0.
    times_s
        Their presentation times, seconds, shape (n,), float64.
    palettes
        The full palette at each of them (deltas replayed), shape (n, k, 3), uint8.
    frame_step
        Frames per column (1: every frame has its column).
    keyframe_times_s
        Times of the keyframes kept, seconds: every ``keyframe_step``-th keyframe.
    keyframe_step
        Keyframes per mark (1: every keyframe is marked).
    total_frames, total_keyframes
        Frames and keyframes in the file.
    end_s
        Where the last frame ends, seconds.
    coded_bytes
        Bytes of every frame's labels and palette entries (container framing excluded).
    frame_bytes
        The same for the frame asked for with ``measure_frame``, else None.
    """

    frames: np.ndarray
    times_s: np.ndarray
    palettes: np.ndarray
    frame_step: int
    keyframe_times_s: np.ndarray
    keyframe_step: int
    total_frames: int
    total_keyframes: int
    end_s: float
    coded_bytes: int = 0
    frame_bytes: int | None = None


@dataclass(frozen=True)
class InspectReport:
    """What :func:`inspect_file` showed and wrote.

    Attributes
    ----------
    pictures
        The PNG files written, in the order of :data:`PICTURES`.
    frame
        Number of the frame shown (0-based).
    time_s
        Its presentation time, seconds.
    keyframe
        True when it is a keyframe.
    k
        The file's palette size.
    colours
        Distinct colours in the decoded frame (palette entries it uses, duplicates counted
        once).
    psnr_db
        PSNR of the decoded frame against the original, dB (``inf`` when equal); None
        without an original.
    original
        The original video the frame was compared with, or None when there was none.
    note
        Why there is no original (or no PSNR), else None.
    timeline
        The palette timeline drawn (see :class:`PaletteTimeline`).
    """

    pictures: tuple[Path, ...]
    frame: int
    time_s: float
    keyframe: bool
    k: int
    colours: int
    psnr_db: float | None
    original: Path | None
    note: str | None
    timeline: PaletteTimeline


def inspect_file(
    src: str | Path,
    time_s: float,
    *,
    original: str | Path | None = None,
    out: str | Path | None = None,
    force: bool = False,
) -> InspectReport:
    """Write pictures of the frame shown at ``time_s`` in a ``.vq`` file and of its palette.

    Four PNG files go into ``out``, named after the frame number (``frame_000123_*.png``) so
    that inspecting other frames adds to the folder: ``side_by_side`` (original | decoded),
    ``scatter`` (pixel colours in RGB space, original | decoded), ``palette`` (the frame's
    palette as swatches) and ``palette_timeline`` (every palette entry over the whole file,
    keyframes and this frame marked).

    Parameters
    ----------
    src
        The ``.vq`` file.
    time_s
        The frame on screen at this time is shown, seconds (0 is the first frame).
    original
        The source video, to compare with. None looks for the source the file names in its
        header, beside ``src``; when it is not there, the pictures show the decoded frame
        alone and the report says why.
    out
        The folder for the pictures; created if missing (its parent must exist). Default:
        ``<stem>.inspect`` beside ``src`` (``clip.vq`` -> ``clip.inspect/``).
    force
        Replace this frame's pictures if they exist.

    Returns
    -------
    InspectReport

    Raises
    ------
    SettingsError
        ``time_s`` is not within the video (the message names the valid range).
    InputError
        ``src`` cannot be opened, or the ``original`` given cannot be read as video.
    FormatError
        ``src`` is damaged; no picture is written.
    OutputError
        A picture exists (without ``force``), or the folder cannot be written. Either all
        four pictures are written or none.
    """
    src = Path(src)
    with open_vq(src) as decoder:
        header = decoder.header
        trailer, entries = decoder.read_index()
        first_s = float(entries[0].pts * header.time_base) if entries else 0.0
        end_s = float(trailer.end_pts * header.time_base)
        if not (math.isfinite(time_s) and first_s <= time_s < end_s):
            raise SettingsError(
                f"time_s must be at least {first_s:g} s and less than {end_s:.3f} s "
                f"(the end of {src.name}), got {time_s:g}",
                setting="time_s",
            )
        frame = read_frame_at(decoder, time_s)
        timeline = read_palette_timeline(decoder, measure_frame=frame.index)
    decoded = frame.to_rgb()
    used = np.unique(frame.labels)
    colours = count_colours(frame.palette[used])
    folder = Path(out) if out is not None else src.parent / f"{src.stem}.inspect"
    names = [f"frame_{frame.index:06d}_{kind}.png" for kind in PICTURES]
    created = _prepare_folder(folder)
    try:
        for name in names:  # before any work: a refusal costs nothing
            check_output(folder / name, force=force)
        ref = _original_frame(src, header, frame, original)
        psnr_db = None
        if ref.rgb is not None and ref.rgb.shape == decoded.shape:
            psnr_db = psnr(ref.rgb, decoded)
        titles = _titles(src, frame, header, colours, psnr_db, ref.path, timeline)
        # Every picture is drawn under a temporary name and all are renamed at the end, so a
        # failure leaves none of them (and never half a set).
        with contextlib.ExitStack() as stack:
            tmp = [stack.enter_context(atomic_path(folder / n, suffix=".png")) for n in names]
            save_side_by_side(
                ref.rgb,
                decoded,
                tmp[0],
                title=titles["side_by_side"],
                left_label=f"original: {ref.path.name}" if ref.path is not None else "original",
                right_label=f"decoded, k={header.k}",
            )
            save_colour_scatter(
                ref.rgb if ref.rgb is not None else decoded,
                decoded if ref.rgb is not None else None,
                tmp[1],
                title=titles["scatter"],
                left_label="original" if ref.rgb is not None else "decoded",
                right_label="decoded",
            )
            save_palette_strip(frame.palette, tmp[2], title=titles["palette"])
            save_palette_timeline(
                timeline.times_s,
                timeline.palettes,
                timeline.keyframe_times_s.tolist(),
                tmp[3],
                title=titles["palette_timeline"],
                mark_s=frame.time_s,
            )
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: it was made for this run
        raise
    return InspectReport(
        pictures=tuple(folder / n for n in names),
        frame=frame.index,
        time_s=frame.time_s,
        keyframe=frame.keyframe,
        k=header.k,
        colours=colours,
        psnr_db=psnr_db,
        original=ref.path,
        note=ref.note,
        timeline=timeline,
    )


def read_frame_at(decoder: VqDecoder, time_s: float) -> PaletteFrame:
    """The frame on screen at ``time_s`` (seconds), decoded from the keyframe before it.

    Raises
    ------
    FormatError
        The file is damaged, or holds no frame at that time.
    """
    frames = decoder.iter_frames(start_s=time_s)
    try:
        frame = next(frames, None)
    finally:
        frames.close()
    if frame is None:
        raise FormatError(f"no frame at {time_s:g} s", offset=decoder.file_size)
    return frame


def read_palette_timeline(
    decoder: VqDecoder, *, max_columns: int = TIMELINE_COLUMNS, measure_frame: int | None = None
) -> PaletteTimeline:
    """The palette at every frame of a ``.vq`` file, thinned to at most ``max_columns``.

    Only the palette deltas are replayed (label maps are read, never decoded), so this is
    fast. The file is streamed: while it is longer than ``max_columns`` frames, every other
    column kept is dropped and the step between kept frames doubles, so columns stay evenly
    spaced in frames and memory stays bounded. Keyframe marks are thinned the same way.

    Parameters
    ----------
    decoder
        An open ``.vq`` file.
    max_columns
        Most columns (and keyframe marks) kept, >= 2.
    measure_frame
        A frame number whose coded size goes in :attr:`PaletteTimeline.frame_bytes`.

    Raises
    ------
    FormatError
        The file is damaged.
    """
    if max_columns < 2:
        raise ValueError(f"max_columns must be >= 2, got {max_columns}")
    h = decoder.header
    columns = _EvenSample(max_columns, ((), np.int64), ((), np.float64), ((h.k, 3), np.uint8))
    keyframes = _EvenSample(max_columns, ((), np.float64))
    palette = np.zeros((h.k, 3), np.uint8)
    end_pts = 0
    coded = 0
    frame_bytes = None
    for index, rec in enumerate(r for r in decoder.iter_records() if isinstance(r, FrameRecord)):
        size = rec.coded_bytes
        coded += size
        if index == measure_frame:
            frame_bytes = size
        time_s = float(rec.pts * h.time_base)
        palette = rec.palette_after(palette)
        if rec.keyframe:
            keyframes.offer(time_s)
        columns.offer(index, time_s, palette)
        end_pts = rec.pts + rec.duration
    if columns.seen == 0:
        raise FormatError("the file holds no frame", offset=decoder.file_size)
    frames, times, palettes = columns.values()
    (keyframe_times,) = keyframes.values()
    return PaletteTimeline(
        frames=frames,
        times_s=times,
        palettes=palettes,
        frame_step=columns.step,
        keyframe_times_s=keyframe_times,
        keyframe_step=keyframes.step,
        total_frames=columns.seen,
        total_keyframes=keyframes.seen,
        end_s=float(end_pts * h.time_base),
        coded_bytes=coded,
        frame_bytes=frame_bytes,
    )


class _EvenSample:
    """Items 0, step, 2*step, ... of a stream of unknown length, at most ``capacity`` of them.

    Whenever the store is full, every other item in it goes and ``step`` doubles; item ``j``
    in the store is always stream item ``j * step``. Each item is a tuple of values, one per
    ``(shape, dtype)`` given; values are copied in.
    """

    def __init__(self, capacity: int, *fields: tuple[tuple[int, ...], type]) -> None:
        self._arrays = [np.empty((capacity, *shape), dtype) for shape, dtype in fields]
        self._capacity = capacity
        self._kept = 0
        self.step = 1
        self.seen = 0

    def offer(self, *values: object) -> None:
        i = self.seen
        self.seen += 1
        if i % self.step:
            return
        if self._kept == self._capacity:
            half = (self._kept + 1) // 2
            for a in self._arrays:
                a[:half] = a[: self._kept : 2]
            self._kept, self.step = half, self.step * 2
            if i % self.step:
                return
        for a, v in zip(self._arrays, values, strict=True):
            a[self._kept] = v
        self._kept += 1

    def values(self) -> list[np.ndarray]:
        return [a[: self._kept].copy() for a in self._arrays]


@dataclass(frozen=True, eq=False)
class _Original:
    """The original's frame for a decoded frame, or why there is none."""

    path: Path | None  # the video it came from; None: no original
    rgb: np.ndarray | None  # (h, w, 3) uint8 at the .vq's width
    note: str | None  # why there is no original, or why it cannot be measured against


def _original_frame(
    src: Path, header: Header, frame: PaletteFrame, original: str | Path | None
) -> _Original:
    """The original frame ``frame`` was made from: from ``original``, else from the source
    the header names when it is beside ``src``.

    Raises
    ------
    InputError
        ``original`` was given and cannot be read (a source merely found is skipped).
    """
    path, note = _locate_original(src, header, original)
    if path is None:
        return _Original(None, None, note)
    still_s = still_time_s(header.meta)
    if still_s is not None:
        # A one-frame .vq from `vidquant image`: its source is a picture, or a video's frame at
        # the time `image --time` asked for.
        at_s = still_s
        read = _read_original_picture
    else:
        # The middle of the frame, on the original's clock (``encode --start`` moved time 0):
        # a time on the frame's own start may round to the frame before it there.
        at_s = encode_start_s(header.meta) + frame.time_s + frame.duration * header.time_base / 2
        read = _read_original_frame
    try:
        rgb = read(path, float(at_s), width=header.width)
    except InputError:
        if original is not None:
            raise  # the caller asked for this one: its error is theirs to see
        log.warning("%s could not be read; showing the decoded frame alone", path)
        return _Original(None, None, f"{path} could not be read as video")
    if rgb is None:
        return _Original(None, None, f"{path.name} has no frame at {float(at_s):.3f} s")
    if rgb.shape[:2] != (header.height, header.width):
        h, w = rgb.shape[:2]
        size = f"{header.width}x{header.height}"
        return _Original(path, rgb, f"{path.name} is {w}x{h} at this width, not {size}: no PSNR")
    return _Original(path, rgb, None)


def _locate_original(
    src: Path, header: Header, original: str | Path | None
) -> tuple[Path | None, str | None]:
    """The original video to compare with, or None and why there is none."""
    if original is not None:
        return Path(original), None
    name = source_name(header.meta)  # a bare file name: never a path out of the .vq's folder
    if name is None:
        return None, f"{src.name} does not name its source video"
    candidate = src.parent / name
    if candidate.is_file() and candidate.resolve() != src.resolve():
        return candidate, None
    return None, f"its source {name} is not beside {src.name}"


def _read_original_frame(path: Path, time_s: float, *, width: int) -> np.ndarray | None:
    """The original's frame on screen at ``time_s`` (seconds on its clock), ``width`` wide;
    None when it has no frame there."""
    from vidquant.io.reader import VideoReader  # PyAV: only when there is an original

    with VideoReader(path, start_s=time_s, duration_s=_ORIGINAL_SPAN_S, width=width) as reader:
        frames = reader.iter_frames()
        try:
            frame = next(frames, None)
        finally:
            frames.close()
    return None if frame is None else frame.rgb


def _read_original_picture(path: Path, time_s: float, *, width: int) -> np.ndarray | None:
    """The picture a still .vq was made from (as `vidquant image` read it); ``width`` is
    checked by the caller."""
    from vidquant.io.image import read_picture

    return read_picture(path, time_s=time_s).rgb


def _prepare_folder(folder: Path) -> bool:
    """Make ``folder`` if missing; True when it was made here."""
    if folder.is_dir():
        return False
    if folder.exists():
        raise OutputError(f"{folder} exists and is not a folder")
    parent = folder.parent if str(folder.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder does not exist: {parent}")
    try:
        folder.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {exc.strerror}") from exc
    return True


def _titles(
    src: Path,
    frame: PaletteFrame,
    header: Header,
    colours: int,
    psnr_db: float | None,
    original: Path | None,
    timeline: PaletteTimeline,
) -> dict[str, str]:
    kind = ", keyframe" if frame.keyframe else ""
    where = f"{src.name}, frame {frame.index} at {frame.time_s:.3f} s{kind}"
    size = f"{header.width}x{header.height}"
    if timeline.frame_bytes is not None:
        mean = timeline.coded_bytes / max(timeline.total_frames, 1)
        size += f", {timeline.frame_bytes / 1000:,.1f} kB coded (mean {mean / 1000:,.1f} kB)"
    if original is None:
        versus = " (no original to compare with)"
    elif psnr_db is None:
        versus = f" against {original.name}"
    else:
        versus = f", PSNR {psnr_db:.2f} dB against {original.name}"
    t = timeline
    thinned = ""
    if t.frame_step > 1:
        thinned += f"; every {_ordinal(t.frame_step)} frame shown"
    if t.keyframe_step > 1:
        thinned += f"; every {_ordinal(t.keyframe_step)} keyframe marked"
    return {
        "side_by_side": f"{where}, {size}: k={header.k}, {colours} colours used{versus}",
        "scatter": f"{where}: pixel colours in RGB space",
        "palette": f"{where}: palette, k={header.k} ({colours} colours used)",
        "palette_timeline": (
            f"{src.name}: palette over time, {t.total_frames} frames, "
            f"{t.total_keyframes} keyframes, k={header.k}{thinned}"
        ),
    }


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


__all__ = [
    "PICTURES",
    "InspectReport",
    "PaletteTimeline",
    "inspect_file",
    "read_frame_at",
    "read_palette_timeline",
]
